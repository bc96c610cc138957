// Groups from a directory: POST /v1/credentials when the person's groups come from the warm directory
// cache against the same call with the groups in the token (goal ≤ 1.05×: the cache must cost next to
// nothing), and a cold lookup of a person in 1,000 groups, read from the Microsoft Graph stand-in in pages.

import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, buildBroker } from "../broker/app.ts";
import { parseConfig } from "../broker/config.ts";
import { DEMO_KEY } from "../dev/aws/fixture.ts";
import { startGraphStandIn } from "../dev/directories/microsoft-graph.ts";
import type { StandIn } from "../dev/directories/model.ts";
import type { CredentialsResponse, Role } from "../shared/api.ts";
import { startTestIssuer, type TestIssuer } from "../test/support/test-issuer.ts";
import { brokerClient, discard } from "./broker.bench.ts";
import { type EmulatorThread, startEmulatorThread } from "./emulator-thread.ts";
import { defineBench, formatMs } from "./lib.ts";

const GOAL = 1.05;
const COLD_GROUPS = 1000;
const PAGE = 200;
const COLD_PEOPLE = 300;
const TENANT = "8f3c2a10-1b2c-4d5e-8f90-123456789abc";
const CLIENT = "6e1d0c1a-aaaa-4bbb-8ccc-0123456789ab";
const oid = (n: number) => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`;

defineBench({
  name: "directory",
  description: `POST /v1/credentials with groups from a warm directory cache vs. from the token; a cold ${COLD_GROUPS}-group Graph lookup in pages of ${PAGE}`,
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-dir-"));
    const closers: (() => unknown)[] = [];
    let emulator: EmulatorThread | undefined;
    let issuer: TestIssuer | undefined;
    let graph: StandIn | undefined;
    let broker: Broker | undefined;
    try {
      emulator = await startEmulatorThread({ accounts: 2, roles: 50, users: 1 });
      issuer = await startTestIssuer();
      const filler = Array.from(
        { length: COLD_GROUPS - 1 },
        (_, i) => `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, "0")}`,
      );
      const members: Record<string, string[]> = { [oid(0)]: ["engineers"] };
      for (let i = 1; i <= COLD_PEOPLE + 50; i++) members[oid(i)] = [...filler, "engineers"];
      process.env.GATEHOUSE_BENCH_GRAPH_SECRET = "bench-secret";
      graph = await startGraphStandIn({
        tenant: TENANT,
        clientId: CLIENT,
        clientSecret: "bench-secret",
        data: { members },
      });
      const yaml = `listen: { host: 127.0.0.1, port: 0 }
database: broker.sqlite
log_level: info
oidc:
  issuer: ${issuer.issuer}
  audience: gatehouse-broker
  groups_source: microsoft_graph
directory:
  when: no_groups_in_token
  max_entries: ${COLD_PEOPLE * 2}
  microsoft_graph:
    tenant_id: ${TENANT}
    client_id: ${CLIENT}
    client_secret: { env: GATEHOUSE_BENCH_GRAPH_SECRET }
    login_url: ${graph.url}
    graph_url: ${graph.url}
    page_size: ${PAGE}
aws:
  endpoint: ${emulator.url}
  base_identity: { type: static, access_key_id: ${DEMO_KEY.id}, secret_access_key: ${DEMO_KEY.secret} }
  central_role_arn: arn:aws:iam::111111111111:role/GatehouseCentral
  spoke_role_name: GatehouseSpoke
  accounts:
    - { id: "200000000000", name: a0 }
    - { id: "200000000001", name: a1 }
`;
      broker = buildBroker(parseConfig(yaml, join(dir, "gatehouse.yaml")), { logStream: discard() });
      await broker.syncer.syncAll();
      await broker.app.listen({ host: "127.0.0.1", port: 0 });
      const addr = broker.app.server.address();
      if (!addr || typeof addr === "string") throw new Error("the broker is not listening on TCP");
      const url = `http://127.0.0.1:${addr.port}`;
      const sign = (claims: Record<string, unknown>) =>
        issuer!.sign({ aud: "gatehouse-broker", iss: issuer!.issuer, email: "alice@example.com", ...claims });
      const fromToken = brokerClient(url, await sign({ sub: "alice", groups: ["engineers"] }));
      const fromDirectory = brokerClient(
        url,
        await sign({ sub: "alice", oid: oid(0), _claim_names: { groups: "src1" } }),
      );
      closers.push(fromToken.close, fromDirectory.close);
      const { roles } = await fromDirectory.call<{ roles: Role[] }>("GET", "/v1/roles");
      const role = roles[0];
      if (!role) throw new Error("the directory's groups give alice no role");
      if (graph.calls.lookups !== 1) throw new Error(`expected one Graph lookup, saw ${graph.calls.lookups}`);

      // Many short interleaved rounds: on a shared machine a slow spell then hits both sides alike.
      const common = { concurrency: 1, iterations: 3000, maxSeconds: 10 };
      const issue = (c: typeof fromToken) => async () => {
        const out = await c.call<CredentialsResponse>("POST", "/v1/credentials", { role: role.ref });
        if (out.role.arn !== role.arn) throw new Error("wrong credentials");
      };
      const [tok, warm] = await ctx.compare(
        [
          {
            name: "credentials.groups-from-token",
            note: "groups claim in the token",
            ...common,
            op: issue(fromToken),
          },
          {
            name: "credentials.groups-from-directory-cache",
            note: "overage token, groups from the warm Graph cache",
            ...common,
            baseline: "credentials.groups-from-token",
            op: issue(fromDirectory),
          },
        ],
        { rounds: 10 },
      );
      if (graph.calls.lookups !== 1)
        throw new Error(`the warm cache asked Graph again (${graph.calls.lookups} lookups)`);
      const p50 = warm!.p50Ms / tok!.p50Ms;
      console.log(
        `  POST /v1/credentials: groups from the token p50 ${formatMs(tok!.p50Ms)}, from the warm directory cache ` +
          `p50 ${formatMs(warm!.p50Ms)}; p50 ratio ${p50.toFixed(3)}× (throughput ratio ${warm!.ratio!.toFixed(3)}×) — goal ≤ ${GOAL}× (p50, as the broker bench judges): ` +
          (p50 <= GOAL ? "met" : "NOT met") +
          ` (rounds ${warm!.ratioRange!.map((x) => x.toFixed(2)).join("–")}×; load average ${loadavg()[0]!.toFixed(1)})`,
      );

      // The same comparison without AWS in the way: GET /v1/me through Fastify's inject (no socket), so that
      // thousands of samples show what the group source itself costs when a credentials call's noise hides it.
      const me = (token: string) => async () => {
        const r = await broker!.app.inject({
          method: "GET",
          url: "/v1/me",
          headers: { authorization: `Bearer ${token}` },
        });
        if (r.statusCode !== 200) throw new Error(`/v1/me answered ${r.statusCode}`);
      };
      const tokenMe = me(await sign({ sub: "alice", groups: ["engineers"] }));
      const directoryMe = me(await sign({ sub: "alice", oid: oid(0), _claim_names: { groups: "src1" } }));
      const meCommon = { concurrency: 1, iterations: 40_000, maxSeconds: 8 };
      const [meToken, meWarm] = await ctx.compare(
        [
          { name: "me.groups-from-token", note: "GET /v1/me, inject", ...meCommon, op: tokenMe },
          {
            name: "me.groups-from-directory-cache",
            note: "GET /v1/me, inject",
            ...meCommon,
            baseline: "me.groups-from-token",
            op: directoryMe,
          },
        ],
        { rounds: 10 },
      );
      console.log(
        `  GET /v1/me (in-process): groups from the warm directory cache p50 ${formatMs(meWarm!.p50Ms)}, ` +
          `${(meWarm!.p50Ms / meToken!.p50Ms).toFixed(3)}× the token's p50 (throughput ${meWarm!.ratio!.toFixed(3)}×, ` +
          `rounds ${meWarm!.ratioRange!.map((x) => x.toFixed(2)).join("–")}×)`,
      );

      // Cold: each operation is a person the broker has not seen, so a Graph token (kept) and 5 pages.
      const coldTokens = await Promise.all(
        Array.from({ length: COLD_PEOPLE + 50 }, (_, i) =>
          sign({ sub: `p${i}`, oid: oid(i + 1), _claim_names: { groups: "src1" } }),
        ),
      );
      const coldClients = coldTokens.map((t) => brokerClient(url, t));
      closers.push(...coldClients.map((c) => c.close));
      const pagesBefore = graph.calls.pages;
      let next = 0;
      const cold = await ctx.measure(
        `directory.cold-lookup.${COLD_GROUPS}-groups`,
        async () => {
          const { roles: r } = await coldClients[next++]!.call<{ roles: Role[] }>("GET", "/v1/roles");
          if (r.length !== roles.length)
            throw new Error(`a cold lookup gave ${r.length} roles, not ${roles.length}`);
        },
        {
          concurrency: 1,
          iterations: COLD_PEOPLE,
          warmup: 20,
          maxSeconds: 20,
          note: `GET /v1/roles, ${COLD_GROUPS / PAGE} Graph pages`,
        },
      );
      const pages = (graph.calls.pages - pagesBefore) / next;
      console.log(
        `  cold lookup of a ${COLD_GROUPS}-group person (${pages} pages of ${PAGE} from the Graph stand-in, through GET /v1/roles): ` +
          `p50 ${formatMs(cold.p50Ms)}, p99 ${formatMs(cold.p99Ms)}; ${(cold.p50Ms / tok!.p50Ms).toFixed(1)}× a credentials call with a warm cache`,
      );
    } finally {
      for (const c of closers) await c();
      await broker?.close();
      await graph?.close();
      await issuer?.close();
      await emulator?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
