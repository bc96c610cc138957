// How the renderer reads a failed window.gatehouse call: the code from the Error's `code`, or from the
// " [CODE]" the preload appends to the message (all that crosses contextBridge); the text without it.

import { describe, expect, it } from "vitest";
import { ipcError } from "../../electron/preload/api.ts";
import { errorCode, errorText } from "../../renderer/src/gatehouse.ts";

describe("renderer error reading", () => {
  it("reads the preload's errors, with or without the code property", () => {
    const e = ipcError("NOT_SIGNED_IN", "not signed in: run gatehouse login");
    expect(errorCode(e)).toBe("NOT_SIGNED_IN");
    expect(errorText(e)).toBe("not signed in: run gatehouse login");
    // What contextBridge hands the page: a plain Error with the message only.
    const bridged = new Error(e.message);
    expect(errorCode(bridged)).toBe("NOT_SIGNED_IN");
    expect(errorText(bridged)).toBe("not signed in: run gatehouse login");
  });

  it("leaves other errors alone", () => {
    expect(errorCode(new Error("Write permission denied."))).toBeUndefined();
    expect(errorText(new Error("the code [is] here"))).toBe("the code [is] here");
    expect(errorCode("BAD_REQUEST")).toBeUndefined();
    expect(errorText(undefined)).toBe("Something went wrong. Try again.");
  });
});
