// The region `exec` and `export` hand to a program: the caller's own, else the role's profile's, else the settings'.

import { readFileSync } from "node:fs";
import { awsConfigPath } from "./agent.ts";
import { agentPaths } from "./home.ts";
import { loadSettings } from "./settings.ts";

/** Both names the AWS tools read: the SDKs prefer AWS_REGION, the AWS CLI v1 reads only AWS_DEFAULT_REGION. */
export const REGION_VARIABLES = ["AWS_REGION", "AWS_DEFAULT_REGION"] as const;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * The `region` of the profile whose credential_process asks for exactly this role (what
 * `config generate` writes, or a profile the person wrote the same way), or undefined. Pure: the
 * config file's text in, so a missing or odd file is simply no answer.
 */
export function profileRegion(configText: string, role: string): string | undefined {
  let inSection = false;
  let names = false;
  let region: string | undefined;
  const found: string[] = [];
  const close = () => {
    if (inSection && names && region) found.push(region);
  };
  for (const raw of configText.split(/\r?\n/)) {
    // Like the SDKs: a comment starts at ";" or "#" at the start or after whitespace.
    const line = raw.split(/(?:^|\s)[;#]/)[0]!.trim();
    if (line.startsWith("[") && line.endsWith("]")) {
      close();
      inSection = true;
      names = false;
      region = undefined;
      continue;
    }
    const eq = line.indexOf("=");
    if (!inSection || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === "credential_process") {
      const args = value.split(/\s+/);
      const at = args.lastIndexOf("--role");
      names = args.includes("credential-process") && at >= 0 && args[at + 1] === role;
    } else if (key === "region" && REGION.test(value)) region = value;
  }
  close();
  // Two profiles for one role with different regions: the first, as `config generate` writes one per role.
  return found[0];
}

/**
 * The variables to add for the region: none when the caller set either name (their choice wins, and
 * setting only the other one would leave the two disagreeing), else both, to `region`.
 */
export function regionVariables(
  caller: NodeJS.ProcessEnv,
  region: string | undefined,
): Record<string, string> {
  if (!region || REGION_VARIABLES.some((k) => caller[k])) return {};
  return { AWS_REGION: region, AWS_DEFAULT_REGION: region };
}

/** The region for a role on this desktop: its profile's in the AWS config file the agent manages, else the settings'. */
export function roleRegion(role: string, env: NodeJS.ProcessEnv = process.env): string {
  const settings = loadSettings(agentPaths(env));
  let text = "";
  try {
    text = readFileSync(awsConfigPath(settings, env), "utf8");
  } catch {
    // No config file yet (or unreadable): the settings' region is the answer.
  }
  return profileRegion(text, role) ?? settings.region;
}
