// The one contract between the tray app's renderer and its main process: every channel with the zod
// schemas of its argument and result. The preload exposes exactly these as functions on window.gatehouse;
// main validates every argument against them before anything reaches the agent.

import { z } from "zod";
import { roleSchema } from "./api.ts";

const roleRef = z.string().min(3).max(2048);
const region = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
  .optional();

export const uiSettingsSchema = z.strictObject({
  brokerUrl: z.url({ protocol: /^https?$/ }),
  /** Where consoles open: the system browser, or an app window with its own session per role. */
  consoleMode: z.enum(["browser", "window"]),
  refreshWindowSeconds: z.number().int().min(60).max(3000),
  profileTemplate: z
    .string()
    .min(1)
    .max(128)
    .regex(/\{role\}/, "must contain {role}"),
  launchAtLogin: z.boolean(),
  theme: z.enum(["system", "light", "dark"]),
});
export type UiSettings = z.infer<typeof uiSettingsSchema>;

export const statusSchema = z.object({
  signedIn: z.boolean(),
  email: z.string().nullable(),
  groups: z.array(z.string()),
  brokerUrl: z.string(),
  brokerReachable: z.boolean().nullable(),
  /** Credentials the agent holds, by role ref, with their expiry (what the status bar shows). */
  cached: z.array(z.object({ role: z.string(), expiration: z.string() })),
});
export type DesktopStatus = z.infer<typeof statusSchema>;

const none = z.strictObject({}).optional();

export const IPC = {
  status: { args: none, result: statusSchema },
  signIn: { args: none, result: z.object({ email: z.string(), groups: z.array(z.string()) }) },
  signOut: { args: none, result: z.object({ signedIn: z.literal(false) }) },
  roles: {
    args: z.strictObject({ refresh: z.boolean().optional() }).optional(),
    result: z.array(roleSchema),
  },
  openConsole: {
    args: z.strictObject({ role: roleRef, region }),
    result: z.object({ url: z.string(), expiresAt: z.string(), openedIn: z.enum(["browser", "window"]) }),
  },
  /** Text for the clipboard: the profile name, the credential_process line, or an env export. */
  copyText: {
    args: z.strictObject({ role: roleRef, kind: z.enum(["profile", "credentialProcess", "envExport"]) }),
    result: z.object({ text: z.string() }),
  },
  favourites: { args: none, result: z.array(z.string()) },
  setFavourite: {
    args: z.strictObject({ role: roleRef, favourite: z.boolean() }),
    result: z.array(z.string()),
  },
  recent: { args: none, result: z.array(z.string()) },
  getSettings: { args: none, result: uiSettingsSchema },
  updateSettings: { args: uiSettingsSchema.partial().strict(), result: uiSettingsSchema },
  consoleWindows: {
    args: none,
    result: z.array(z.object({ role: z.string(), expiresAt: z.string(), expired: z.boolean() })),
  },
} as const;

export type Channel = keyof typeof IPC;
export const CHANNELS = Object.keys(IPC) as Channel[];
export type ArgsOf<C extends Channel> = z.input<(typeof IPC)[C]["args"]>;
export type ResultOf<C extends Channel> = z.infer<(typeof IPC)[C]["result"]>;

/** The API the preload exposes on window.gatehouse: one function per channel. */
export type GatehouseApi = { [C in Channel]: (args?: ArgsOf<C>) => Promise<ResultOf<C>> };

/** Channel names as the preload sends them over Electron IPC. */
export const ipcChannelName = (c: Channel) => `gatehouse:${c}`;
