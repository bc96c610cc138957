import { describe, expect, it } from "vitest";
import cp from "../../electron/cli/credential-process.cjs";

const res = (s: string) => Buffer.from(s, "latin1");

describe("the credential_process fast path's HTTP reading", () => {
  it("reads a Content-Length body and a chunked one alike", () => {
    expect(cp.parseResponse(res('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{"a":"b"}'))).toEqual({
      status: 200,
      text: '{"a":"b"}',
    });
    const chunked =
      'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"co\r\nb\r\nde":"NO"}xx\r\n0\r\n\r\n';
    expect(cp.parseResponse(res(chunked))).toEqual({ status: 404, text: '{"code":"NO"}xx' });
  });

  it("says AGENT_UNREACHABLE for an answer cut short or one that is not HTTP", () => {
    expect(() => cp.parseResponse(res("HTTP/1.1 200 OK\r\nContent-Le"))).toThrow(/cut short/);
    expect(() => cp.parseResponse(res("SSH-2.0-OpenSSH\r\n\r\n"))).toThrow(/not HTTP/);
    expect(() =>
      cp.parseResponse(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc")),
    ).toThrow(/cut short/);
  });
});
