// `gatehouse login [--broker URL] [--no-browser]`: sign in through the company's SSO. The browser is opened from
// this command's own process and environment (its DISPLAY, GATEHOUSE_BROWSER, an SSH session), not the agent's,
// which may have been started elsewhere; --broker sets the broker URL, whose sign-in settings the agent then reads.

import { GatehouseError } from "../../../shared/errors.ts";
import { fetchClientConfig } from "../../agent/client-config.ts";
import { agentPaths, ensureHome } from "../../agent/home.ts";
import { loadSettings, patchSettingsFile } from "../../agent/settings.ts";
import { defaultBrowserOpener } from "../../agent/signin.ts";
import { agent, flags, helped, one, print, printError, UsageError } from "../io.ts";
import { stopAgent } from "./agent.ts";

export const USAGE =
  "usage: gatehouse login [--broker URL] [--no-browser]   (--broker: your Gatehouse broker, remembered; --no-browser prints the sign-in URL instead of opening it)";

export interface LoginInput {
  broker: string | undefined;
  /** Print the URL instead of opening a browser: asked for, or no desktop to open one on. */
  print: boolean;
}

type LoginLine =
  | { event: "url"; url: string }
  | { event: "done"; email: string; groups: string[] }
  | { event: "error"; code: string; detail: string };

/** An SSH session with no display of its own: a browser would open on another screen, or nowhere. */
export function headless(env: NodeJS.ProcessEnv, platform = process.platform): boolean {
  if (env.GATEHOUSE_BROWSER?.trim()) return false;
  const ssh = Boolean(env.SSH_CONNECTION || env.SSH_TTY || env.SSH_CLIENT);
  if (platform === "darwin" || platform === "win32") return ssh;
  return ssh ? !env.DISPLAY && !env.WAYLAND_DISPLAY : false;
}

export function validate(
  values: { broker?: string | undefined; "no-browser"?: boolean | undefined },
  env = process.env,
): LoginInput {
  let broker: string | undefined;
  if (values.broker !== undefined) {
    const url = URL.parse(values.broker);
    const loopback = url !== null && /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/.test(url.hostname);
    if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && loopback)))
      throw new UsageError(
        `--broker must be an https URL (http only on this machine); got "${values.broker}"\n${USAGE}`,
      );
    broker = url.href.replace(/\/+$/, "");
  }
  return { broker, print: values["no-browser"] === true || headless(env) };
}

/** Points this desktop at a broker: checks that it answers as one, then remembers it (the agent restarts on it). */
async function pointAtBroker(brokerUrl: string, env: NodeJS.ProcessEnv): Promise<void> {
  await fetchClientConfig(brokerUrl);
  const paths = agentPaths(env);
  ensureHome(paths);
  if (loadSettings(paths).brokerUrl === brokerUrl) return;
  patchSettingsFile(paths, { brokerUrl });
  // The running agent read its settings at start; the next call starts one on the new broker.
  if ((await stopAgent()) === "stuck")
    throw new GatehouseError(
      "AGENT_UNREACHABLE",
      "the agent on the old broker did not stop; run gatehouse agent stop",
    );
}

/** The e-mail and groups come from the IdP's token: shown, never executed (SECURITY 34). */
const signedIn = (who: { email: string; groups: string[] }) =>
  `Signed in as ${one(who.email)}${who.groups.length ? ` (${who.groups.map(one).join(", ")})` : ""}\n`;

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = flags(argv, { "no-browser": { type: "boolean" }, broker: { type: "string" } }, USAGE);
  if (values.help) return helped(USAGE);
  const input = validate(values, env);
  if (input.broker) await pointAtBroker(input.broker, env);
  const showUrl = (url: string) => printError(`Open this URL in a browser to sign in:\n\n  ${one(url)}\n`);
  const browser = defaultBrowserOpener(env);
  const last = await agent<LoginLine>("POST", "/v1/login", { noBrowser: true }, (line) => {
    const l = line as LoginLine;
    if (l.event !== "url") return;
    if (input.print) return showUrl(l.url);
    console.error("gatehouse: opening your browser to sign in…");
    // A browser that cannot be opened here is no reason to give up: the person can open the URL by hand.
    browser(l.url).catch((e: unknown) => {
      printError(`gatehouse: ${one((e as Error).message)}`);
      showUrl(l.url);
    });
  });
  if (last.event === "done") {
    print(signedIn(last));
    return 0;
  }
  if (last.event === "error") {
    printError(`gatehouse: sign-in failed: ${one(last.detail)} [${one(last.code)}]`);
    return 1;
  }
  return 1;
}
