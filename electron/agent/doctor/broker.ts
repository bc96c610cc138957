// Doctor: the broker — reachable, its TLS certificate valid, its client-config readable — and this machine's
// clock against the broker's Date header (STS refuses requests signed more than 5 minutes off).

import { type Check, type DoctorContext, type Finding, fail, ok, skip, warn } from "./check.ts";

const TIMEOUT_MS = 5000;
/** What STS (SigV4) tolerates. */
export const MAX_SKEW_MS = 5 * 60_000;

/** One line for a clock skew, and whether it is too much. Pure. */
export function judgeSkew(skewMs: number): { status: "ok" | "warn" | "fail"; message: string } {
  const s = Math.round(Math.abs(skewMs) / 1000);
  const dir = skewMs > 0 ? "ahead of" : "behind";
  const text = s < 1 ? "within a second of the broker's" : `${s} s ${dir} the broker's`;
  if (Math.abs(skewMs) > MAX_SKEW_MS)
    return {
      status: "fail",
      message: `this clock is ${text}: AWS refuses requests signed more than 5 minutes off`,
    };
  if (Math.abs(skewMs) > 60_000) return { status: "warn", message: `this clock is ${text}` };
  return { status: "ok", message: `this clock is ${text}` };
}

/** The reason a fetch failed, from undici's cause (ECONNREFUSED, CERT_HAS_EXPIRED, …). */
export function fetchFailure(e: unknown): { code: string; tls: boolean } {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (e as Error).name ?? "ERROR";
  const tls = /CERT|TLS|SSL|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)/.test(code);
  return { code, tls };
}

const isLoopback = (u: URL) => ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);

export const brokerCheck: Check = {
  id: "broker",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    const base = ctx.settings.brokerUrl.replace(/\/+$/, "");
    const url = new URL(base);
    const fixUrl = `check "brokerUrl" in ${ctx.paths.settings} (now ${base}), your network or VPN, and that the broker runs`;
    const started = Date.now();
    let res: Response;
    try {
      res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "manual" });
    } catch (e) {
      const { code, tls } = fetchFailure(e);
      const skipped = [
        skip("broker.client-config", "the broker did not answer"),
        skip("clock", "no broker to compare with"),
      ];
      if (tls)
        return [
          fail(
            "broker",
            `the broker's TLS certificate is not valid (${code})`,
            "the broker needs a certificate for its host name from a CA this machine trusts (NODE_EXTRA_CA_CERTS names an extra CA file)",
          ),
          ...skipped,
        ];
      return [fail("broker", `the broker at ${base} cannot be reached (${code})`, fixUrl), ...skipped];
    }
    const ms = Date.now() - started;
    await res.arrayBuffer().catch(() => undefined);
    const out: Finding[] = [];
    if (res.status >= 500 || res.status === 404)
      out.push(
        fail("broker", `${base}/healthz answered ${res.status}`, `${fixUrl}; the broker's log says more`),
      );
    else if (url.protocol === "http:" && !isLoopback(url))
      out.push(
        warn(
          "broker",
          `${base} is plain HTTP: tokens cross the network unencrypted`,
          `use the broker's https:// URL in ${ctx.paths.settings}`,
        ),
      );
    else
      out.push(
        ok(
          "broker",
          `${base} answers (${ms} ms)${url.protocol === "https:" ? ", TLS certificate valid" : ""}`,
        ),
      );

    // The clock, from the same answer: the broker's Date header has a resolution of one second.
    const date = Date.parse(res.headers.get("date") ?? "");
    if (Number.isNaN(date)) out.push(skip("clock", "the broker sent no Date header"));
    else {
      const skew = started + ms / 2 - date;
      const j = judgeSkew(skew);
      const fixClock =
        "turn on automatic time (timedatectl set-ntp true; macOS/Windows: Date & Time settings)";
      out.push(
        j.status === "ok"
          ? ok("clock", j.message)
          : { id: "clock", status: j.status, message: j.message, fix: fixClock },
      );
    }

    try {
      const cc = await fetch(`${base}/v1/client-config`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      await cc.arrayBuffer().catch(() => undefined);
      if (cc.status === 200) out.push(ok("broker.client-config", "client-config readable"));
      else if (cc.status === 404)
        out.push(
          warn(
            "broker.client-config",
            "the broker has no /v1/client-config (too old to publish its IdP settings)",
            "nothing to do on this desktop: settings.json names the IdP; upgrading the broker lets desktops need only its URL",
          ),
        );
      else
        out.push(
          fail(
            "broker.client-config",
            `/v1/client-config answered ${cc.status}`,
            `${fixUrl}; the broker's log says more`,
          ),
        );
    } catch (e) {
      out.push(fail("broker.client-config", `/v1/client-config failed (${fetchFailure(e).code})`, fixUrl));
    }
    return out;
  },
};

export const idpCheck: Check = {
  id: "idp",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    const issuer = ctx.settings.issuer.replace(/\/+$/, "");
    const where = `${issuer}/.well-known/openid-configuration`;
    const fix = `check "issuer" in ${ctx.paths.settings} (now ${issuer}) and your network`;
    try {
      const res = await fetch(where, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (res.status !== 200) return [fail("idp", `${where} answered ${res.status}`, fix)];
      const doc = (await res.json()) as { issuer?: string; authorization_endpoint?: string };
      if (doc.issuer?.replace(/\/+$/, "") !== issuer)
        return [
          fail(
            "idp",
            `the discovery document names the issuer ${JSON.stringify(doc.issuer)}, not ${issuer}`,
            fix,
          ),
        ];
      return [ok("idp", `${issuer} publishes its discovery document`)];
    } catch (e) {
      return [fail("idp", `the IdP's discovery document cannot be read (${fetchFailure(e).code})`, fix)];
    }
  },
};
