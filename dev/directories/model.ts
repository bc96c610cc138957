// The data every directory stand-in serves: who is directly in which group, which groups sit in which,
// and the calls it has answered (for tests: pages read, lookups started, single flight kept).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface DirectoryData {
  /** A person's key as the directory names them (e-mail, object id, Okta id) → the groups they are directly in. */
  members: Record<string, string[]>;
  /** A group → the groups it is directly a member of (nesting). */
  parents?: Record<string, string[]>;
  /** A group's display name, where the directory has one apart from its key (Entra). */
  names?: Record<string, string>;
}

export function directGroups(d: DirectoryData, user: string): string[] | undefined {
  return Object.hasOwn(d.members, user) ? d.members[user]! : undefined;
}

/** Every group the person is in, directly or through nesting, each once, direct ones first. */
export function transitiveGroups(
  d: DirectoryData,
  user: string,
): { key: string; direct: boolean }[] | undefined {
  const direct = directGroups(d, user);
  if (!direct) return undefined;
  const seen = new Set<string>(direct);
  const out = direct.map((key) => ({ key, direct: true }));
  for (let i = 0; i < out.length; i++) {
    for (const p of d.parents?.[out[i]!.key] ?? []) {
      if (seen.has(p)) continue;
      seen.add(p);
      out.push({ key: p, direct: false });
    }
  }
  return out;
}

export interface Calls {
  /** Token endpoint calls. */
  token: number;
  /** Group pages served (every page of every lookup). */
  pages: number;
  /** First pages served: one per lookup of a person. */
  lookups: number;
}

export interface StandIn {
  url: string;
  calls: Calls;
  /** Replace the directory's data. */
  set(data: DirectoryData): void;
  /** Every request answers 503 in the directory's error shape (an outage); false ends it. */
  outage(on: boolean): void;
  /** Each answer waits this long (ms), so that concurrent callers overlap. */
  latency(ms: number): void;
  close(): Promise<void>;
}

export type Handler = (
  req: IncomingMessage,
  url: URL,
  body: string,
  res: ServerResponse,
) => void | Promise<void>;

/** A loopback HTTP server for a stand-in: body read, latency and outage applied, then `handler`. */
export async function serve(
  o: { port?: number; host?: string },
  handler: Handler,
  outageBody: () => { status: number; body: unknown },
): Promise<{
  url: string;
  server: Server;
  outage(on: boolean): void;
  latency(ms: number): void;
  close(): Promise<void>;
}> {
  let down = false;
  let delay = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (down) return json(res, outageBody().status, outageBody().body);
      try {
        await handler(
          req,
          new URL(req.url ?? "/", "http://stand-in"),
          Buffer.concat(chunks).toString("utf8"),
          res,
        );
      } catch (e) {
        json(res, 500, { error: { message: (e as Error).message } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host ?? "127.0.0.1"}:${port}`,
    server,
    outage: (on) => {
      down = on;
    },
    latency: (ms) => {
      delay = ms;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** What a directory stand-in's handler reads and counts: the data served now (replaced by `set`), the calls
 * answered, and its own origin once listening (for links and token audiences that name it). */
export interface StandInState {
  data: DirectoryData;
  readonly calls: Calls;
  base: string;
}

export function standInState(data: DirectoryData): StandInState {
  return { data, calls: { token: 0, pages: 0, lookups: 0 }, base: "" };
}

/** `serve` for a directory stand-in: records its origin in `st` and exposes it as a StandIn. */
export async function serveStandIn(
  o: { port?: number; host?: string },
  st: StandInState,
  handler: Handler,
  outageBody: () => { status: number; body: unknown },
): Promise<StandIn> {
  const s = await serve(o, handler, outageBody);
  st.base = s.url;
  return {
    url: s.url,
    calls: st.calls,
    set: (d) => {
      st.data = d;
    },
    outage: s.outage,
    latency: s.latency,
    close: s.close,
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

/** The bearer token of an Authorization header, or undefined. */
export function bearer(req: IncomingMessage, scheme = "Bearer"): string | undefined {
  const h = req.headers.authorization ?? "";
  return h.startsWith(`${scheme} `) ? h.slice(scheme.length + 1) : undefined;
}

/** An opaque page token: the offset, as directories hide theirs. */
export const pageToken = {
  make: (offset: number) => Buffer.from(`offset:${offset}`).toString("base64url"),
  read: (t: string | null): number | undefined => {
    if (t === null) return 0;
    const m = /^offset:(\d+)$/.exec(Buffer.from(t, "base64url").toString());
    return m ? Number(m[1]) : undefined;
  },
};
