// `gatehouse-dev idp`: flags → a started development OpenID Provider that prints its issuer and stops cleanly on
// a signal.

import { parseArgs } from "node:util";
import { GatehouseError } from "../../shared/errors.ts";
import { reportStartFailure, stopOnSignals } from "../serve.ts";
import {
  BROKER_AUDIENCE,
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_IDP_PORT,
  DESKTOP_CLIENT_ID,
  DESKTOP_REDIRECT_URI,
  isLoopbackHost,
} from "./config.ts";
import type { IdpOptions } from "./provider.ts";
import { SHAPE_NAMES, type ShapeName } from "./shapes/index.ts";
import { DEMO_USERS, findUserByEmail } from "./users.ts";

const USAGE = `usage: gatehouse-dev idp [options]

  --port N                port to listen on (default ${DEFAULT_IDP_PORT}; 0 picks a free one)
  --host ADDR             address to bind (default 127.0.0.1)
  --auto-login EMAIL      sign every authorization request in as this demo user, without the form
                          (only when bound to a loopback address)
  --issuer URL            issuer to advertise instead of http://HOST:PORT (an origin, e.g. behind a TLS proxy)
  --access-token-ttl S    access token lifetime in seconds (default ${DEFAULT_ACCESS_TOKEN_TTL})
  --audience AUD          aud of access tokens (default ${BROKER_AUDIENCE})
  --shape NAME            issue one provider's token shapes: ${SHAPE_NAMES.join(", ")} (default generic)

Client: ${DESKTOP_CLIENT_ID} (public, PKCE S256, redirect ${DESKTOP_REDIRECT_URI} on any port).
Users: ${DEMO_USERS.map((u) => `${u.email} (${u.groups.join(", ") || "no groups"})`).join(", ")}.`;

export function parseIdpArgs(argv: string[]): IdpOptions | "help" {
  let values: ReturnType<typeof parse>["values"];
  function parse() {
    return parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: "string", default: String(DEFAULT_IDP_PORT) },
        host: { type: "string", default: "127.0.0.1" },
        "auto-login": { type: "string" },
        issuer: { type: "string" },
        "access-token-ttl": { type: "string" },
        audience: { type: "string" },
        shape: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  }
  try {
    values = parse().values;
  } catch (e) {
    throw new GatehouseError("BAD_ARGUMENT", (e as Error).message);
  }
  if (values.help) return "help";
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port!) || port > 65535) {
    throw new GatehouseError("BAD_ARGUMENT", `--port must be 0-65535; got "${values.port}"`);
  }
  const host = values.host!;
  const autoLogin = values["auto-login"];
  if (autoLogin !== undefined) {
    if (!isLoopbackHost(host)) {
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `--auto-login is only allowed when bound to a loopback address (127.0.0.1, ::1, localhost); --host is "${host}"`,
      );
    }
    if (!findUserByEmail(autoLogin))
      throw new GatehouseError("BAD_ARGUMENT", `--auto-login: no demo user has the e-mail "${autoLogin}"`);
  }
  const ttlFlag = values["access-token-ttl"];
  const accessTokenTtl = ttlFlag === undefined ? DEFAULT_ACCESS_TOKEN_TTL : Number(ttlFlag);
  if (!Number.isInteger(accessTokenTtl) || accessTokenTtl < 1 || accessTokenTtl > 86400)
    throw new GatehouseError("BAD_ARGUMENT", "--access-token-ttl must be whole seconds, 1-86400");
  const shape = values.shape as ShapeName | undefined;
  if (shape !== undefined && !SHAPE_NAMES.includes(shape))
    throw new GatehouseError(
      "BAD_ARGUMENT",
      `--shape must be one of ${SHAPE_NAMES.join(", ")}; got "${shape}"`,
    );
  return {
    port,
    host,
    accessTokenTtl,
    ...(shape !== undefined ? { shape } : {}),
    ...(autoLogin !== undefined ? { autoLogin } : {}),
    ...(values.issuer !== undefined ? { issuerUrl: values.issuer } : {}),
    ...(values.audience !== undefined ? { audience: values.audience } : {}),
  };
}

export async function runIdpCommand(argv: string[]): Promise<void> {
  try {
    const input = parseIdpArgs(argv);
    if (input === "help") {
      console.log(USAGE);
      return;
    }
    // Loaded only now: oidc-provider prints notices when imported, which --help and bad flags need not show.
    const { startIdp } = await import("./provider.ts");
    const idp = await startIdp(input);
    const autoLogin = input.autoLogin ? `, auto-login ${findUserByEmail(input.autoLogin)!.email}` : "";
    console.log(
      `gatehouse-dev idp issuer ${idp.issuer} (client ${DESKTOP_CLIENT_ID}, audience ${input.audience ?? BROKER_AUDIENCE}${autoLogin})`,
    );
    stopOnSignals("idp", async () => {
      await idp.close();
    });
  } catch (e) {
    reportStartFailure("idp", e);
  }
}
