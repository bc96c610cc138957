// The region `exec` and `export` add: read from the role's profile, kept out when the caller chose one.

import { describe, expect, it } from "vitest";
import { childEnv } from "../../electron/agent/exec.ts";
import { profileRegion, regionVariables } from "../../electron/agent/region.ts";

const CONFIG = `[default]
region = eu-west-1

# >>> gatehouse managed profiles — do not edit inside this block >>>
[profile staging-Developer]
credential_process = /opt/Gatehouse/gatehouse credential-process --role staging/Developer
region = eu-central-1

[profile prod-ReadOnly]
credential_process = gatehouse credential-process --role prod/ReadOnly
# <<< gatehouse managed profiles <<<

[profile lookalike]
credential_process = gatehouse credential-process --role staging/Developer2
region = ap-south-1
`;

describe("profileRegion", () => {
  it("takes the region of the profile whose credential_process names exactly the role", () => {
    expect(profileRegion(CONFIG, "staging/Developer")).toBe("eu-central-1");
    expect(profileRegion(CONFIG, "staging/Developer2")).toBe("ap-south-1");
  });

  it("a profile without a region, an unknown role or no file give no answer (the settings' region applies)", () => {
    expect(profileRegion(CONFIG, "prod/ReadOnly")).toBeUndefined();
    expect(profileRegion(CONFIG, "prod/Admin")).toBeUndefined();
    expect(profileRegion("", "staging/Developer")).toBeUndefined();
  });

  it("ignores a region that is not one, comments, and CRLF line ends", () => {
    const text =
      "[profile a]\r\ncredential_process = gatehouse credential-process --role x/y\r\nregion = $(touch /tmp/p)\r\n" +
      "[profile b]\r\n; region = eu-west-3\r\ncredential_process = gatehouse credential-process --role x/z # c\r\nregion = eu-north-1 ; mine\r\n";
    expect(profileRegion(text, "x/y")).toBeUndefined();
    expect(profileRegion(text, "x/z")).toBe("eu-north-1");
  });
});

describe("regionVariables", () => {
  it("sets both names when the caller has neither", () => {
    expect(regionVariables({ PATH: "/bin" }, "eu-west-2")).toEqual({
      AWS_REGION: "eu-west-2",
      AWS_DEFAULT_REGION: "eu-west-2",
    });
  });

  it("adds nothing when the caller set either one (an empty value is not a choice)", () => {
    expect(regionVariables({ AWS_REGION: "us-west-2" }, "eu-west-2")).toEqual({});
    expect(regionVariables({ AWS_DEFAULT_REGION: "us-west-2" }, "eu-west-2")).toEqual({});
    expect(regionVariables({ AWS_REGION: "" }, "eu-west-2")).toEqual({
      AWS_REGION: "eu-west-2",
      AWS_DEFAULT_REGION: "eu-west-2",
    });
    expect(regionVariables({}, undefined)).toEqual({});
  });
});

describe("childEnv", () => {
  const ours = {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/",
    AWS_CONTAINER_AUTHORIZATION_TOKEN: "t",
  };

  it("is the caller's environment plus the credential variables, GATEHOUSE_ROLE and the region", () => {
    const caller = { PATH: "/bin", HOME: "/h", LANG: "C" };
    expect(childEnv(caller, "a/b", ours, "eu-west-2")).toEqual({
      ...caller,
      ...ours,
      GATEHOUSE_ROLE: "a/b",
      AWS_REGION: "eu-west-2",
      AWS_DEFAULT_REGION: "eu-west-2",
    });
  });

  it("keeps the caller's region", () => {
    const caller = { PATH: "/bin", AWS_DEFAULT_REGION: "sa-east-1" };
    expect(childEnv(caller, "a/b", ours, "eu-west-2")).toEqual({ ...caller, ...ours, GATEHOUSE_ROLE: "a/b" });
  });
});
