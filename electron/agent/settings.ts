// The agent's settings file ($GATEHOUSE_HOME/settings.json): broker, IdP, refresh window, profiles.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { GatehouseError } from "../../shared/errors.ts";
import type { AgentPaths } from "./home.ts";

export const settingsSchema = z.strictObject({
  brokerUrl: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:7420"),
  issuer: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:7421"),
  clientId: z.string().min(1).default("gatehouse-desktop"),
  scopes: z.string().min(1).default("openid email profile groups offline_access"),
  /** Only for IdPs that want one from a desktop client (Google "Desktop app"); it is not a real secret. */
  clientSecret: z.string().min(1).max(256).optional(),
  /** Extra parameters of the authorization request (Auth0's audience, Google's access_type). */
  authorizationParams: z.record(z.string().regex(/^[\w.-]{1,64}$/), z.string().max(512)).default({}),
  /** Which token the broker takes: the access token, or the ID token (Google, JumpCloud, Cognito). */
  token: z.enum(["access_token", "id_token"]).default("access_token"),
  /** Credentials are refreshed in the background when less than this many seconds remain. */
  refreshWindowSeconds: z.number().int().min(60).max(3000).default(600),
  /** Profile names in ~/.aws/config: {account} (name), {accountId}, {role}. */
  profileTemplate: z
    .string()
    .regex(/\{role\}/, "the template must contain {role}")
    .default("{account}-{role}"),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
    .default("us-east-1"),
  /** AWS config file to manage (default: $AWS_CONFIG_FILE, else ~/.aws/config). */
  awsConfigFile: z.string().min(1).optional(),
  /** Keep the managed block of the AWS config file current when roles appear or vanish. */
  manageAwsConfig: z.boolean().default(false),
  /**
   * How AWS config profiles call this CLI (`credential_process = <cliCommand> credential-process …`);
   * unset: the installed binary by absolute path (cli-path.ts).
   */
  cliCommand: z.string().min(1).max(512).optional(),
  /** Where the refresh token lives: the OS keychain, or (explicit opt-in) a 0600 file. */
  tokenStore: z.enum(["keychain", "file"]).default("keychain"),
  /** Sign-in waits this long for the browser before giving up. */
  signInTimeoutSeconds: z.number().int().min(10).max(3600).default(300),
});

export type Settings = z.infer<typeof settingsSchema>;

/** The sign-in settings a broker publishes (/v1/client-config); the ones written in settings.json win. */
export const SIGN_IN_KEYS = [
  "issuer",
  "clientId",
  "clientSecret",
  "scopes",
  "authorizationParams",
  "token",
] as const satisfies readonly (keyof Settings)[];

/** The keys settings.json itself sets (a managed deployment pins them), as opposed to defaults. */
export function pinnedKeys(paths: AgentPaths): Set<string> {
  if (!existsSync(paths.settings)) return new Set();
  try {
    const raw = JSON.parse(readFileSync(paths.settings, "utf8")) as unknown;
    return new Set(raw && typeof raw === "object" && !Array.isArray(raw) ? Object.keys(raw) : []);
  } catch {
    return new Set(); // loadSettings reports the broken file
  }
}

/** Changes keys in settings.json as written, leaving every other key unpinned (not filled with defaults). */
export function patchSettingsFile(paths: AgentPaths, patch: Partial<Settings>): void {
  const raw = existsSync(paths.settings)
    ? (JSON.parse(readFileSync(paths.settings, "utf8")) as Record<string, unknown>)
    : {};
  const next = { ...raw, ...patch };
  const parsed = settingsSchema.safeParse(next);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new GatehouseError("SETTINGS_INVALID", `${i.path.join(".") || "(top)"}: ${i.message}`);
  }
  const tmp = `${paths.settings}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, paths.settings);
}

export function loadSettings(paths: AgentPaths): Settings {
  if (!existsSync(paths.settings)) return settingsSchema.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(paths.settings, "utf8"));
  } catch (e) {
    throw new GatehouseError(
      "SETTINGS_INVALID",
      `${paths.settings} is not valid JSON: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new GatehouseError(
      "SETTINGS_INVALID",
      `${paths.settings}: ${i.path.join(".") || "(top)"}: ${i.message}`,
    );
  }
  return parsed.data;
}

/** Write settings atomically (temp file + rename), 0600. */
export function saveSettings(paths: AgentPaths, settings: Settings): void {
  const tmp = `${paths.settings}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(settingsSchema.parse(settings), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, paths.settings);
}
