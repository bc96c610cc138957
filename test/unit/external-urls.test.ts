// The tray app's allow-list for shell.openExternal and console windows (SECURITY.md 28): https to AWS's
// sign-in/console hosts or a configured host; loopback only for a loopback (demo) broker; nothing else.

import { describe, expect, it } from "vitest";
import {
  type ExternalUrlPolicy,
  externalUrlPolicy,
  isAllowedExternalUrl,
} from "../../electron/main/external-urls.ts";

const PROD: ExternalUrlPolicy = externalUrlPolicy({
  brokerUrl: "https://gatehouse.example.com",
  issuer: "https://login.example.com/realms/corp",
});
const DEMO: ExternalUrlPolicy = externalUrlPolicy({
  brokerUrl: "http://127.0.0.1:7420",
  issuer: "http://127.0.0.1:7421",
});

describe("externalUrlPolicy", () => {
  it("takes the broker's and the IdP's https hosts; loopback only for a loopback broker", () => {
    expect(PROD).toEqual({ hosts: ["gatehouse.example.com", "login.example.com"], allowLoopback: false });
    expect(DEMO).toEqual({ hosts: [], allowLoopback: true });
  });

  it("does not trust a plain-http configured host, nor loopback because only the IdP is local", () => {
    expect(
      externalUrlPolicy({ brokerUrl: "http://broker.internal:7420", issuer: "http://127.0.0.1:7421" }),
    ).toEqual({ hosts: [], allowLoopback: false });
  });
});

describe("isAllowedExternalUrl", () => {
  it.each([
    "https://signin.aws.amazon.com/federation?Action=login&SigninToken=abc&Destination=x",
    "https://console.aws.amazon.com/console/home",
    "https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#Instances:",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/",
    "https://SIGNIN.AWS.AMAZON.COM/federation",
    "https://gatehouse.example.com/requests",
    "https://login.example.com/realms/corp/protocol/openid-connect/auth?client_id=x",
  ])("allows %s", (url) => {
    expect(isAllowedExternalUrl(url, PROD)).toBe(true);
  });

  it.each([
    ["http to AWS", "http://signin.aws.amazon.com/federation"],
    ["a look-alike suffix", "https://signin.aws.amazon.com.evil.example/federation"],
    ["a look-alike prefix", "https://evilaws.amazon.com/"],
    ["the bare parent domain's sibling", "https://amazon.com/"],
    ["a trailing-dot host", "https://signin.aws.amazon.com./federation"],
    ["credentials in the URL", "https://user:pw@console.aws.amazon.com/"],
    ["an @ that hides the real host", "https://console.aws.amazon.com@evil.example/"],
    ["an unknown https host", "https://evil.example/"],
    ["file:", "file:///etc/passwd"],
    ["javascript:", "javascript:alert(1)"],
    ["data:", "data:text/html,<script>alert(1)</script>"],
    ["a custom scheme", "ms-settings:privacy"],
    ["the app's own scheme", "app://gatehouse/index.html"],
    ["smb:", "smb://fileserver/share"],
    ["loopback in production", "http://127.0.0.1:7422/console"],
    ["not a URL", "console.aws.amazon.com"],
    ["empty", ""],
    ["a configured host over http", "http://gatehouse.example.com/"],
  ])("refuses %s", (_what, url) => {
    expect(isAllowedExternalUrl(url, PROD)).toBe(false);
  });

  it("allows the demo's loopback (http and https, any port) only when the broker is on loopback", () => {
    for (const url of [
      "http://127.0.0.1:7422/console?role=x",
      "http://127.0.0.1:7421/auth?x=1",
      "https://127.0.0.1:8443/",
      "http://[::1]:7422/",
    ]) {
      expect(isAllowedExternalUrl(url, DEMO), url).toBe(true);
      expect(isAllowedExternalUrl(url, PROD), url).toBe(false);
    }
    // "localhost" is a name anyone's resolver can point elsewhere; only the address counts.
    expect(isAllowedExternalUrl("http://localhost:7422/", DEMO)).toBe(false);
    expect(isAllowedExternalUrl("http://127.0.0.2:7422/", DEMO)).toBe(false);
    expect(isAllowedExternalUrl("file:///etc/passwd", DEMO)).toBe(false);
    expect(isAllowedExternalUrl("ftp://127.0.0.1/", DEMO)).toBe(false);
  });

  it("still allows AWS in the demo and refuses what is not a string", () => {
    expect(isAllowedExternalUrl("https://signin.aws.amazon.com/federation", DEMO)).toBe(true);
    expect(isAllowedExternalUrl(42 as unknown as string, DEMO)).toBe(false);
    expect(isAllowedExternalUrl(`https://console.aws.amazon.com/${"a".repeat(9000)}`, PROD)).toBe(false);
  });
});
