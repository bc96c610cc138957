// Assembles the broker: store, AWS gateway, access index, syncer and the Fastify app with its routes.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { DestinationStream } from "pino";
import { GatehouseError } from "../shared/errors.ts";
import { AccessIndex } from "./access-index.ts";
import { AccountDirectory } from "./accounts.ts";
import { AuditGuard } from "./audit/guard.ts";
import { TokenVerifier } from "./auth.ts";
import { AwsGateway } from "./aws.ts";
import type { BrokerConfig } from "./config.ts";
import { type Db, openConfiguredDb } from "./db/index.ts";
import { RefusedTokens } from "./denials.ts";
import { createGroupSource, type GroupSource } from "./groups/index.ts";
import { installErrorHandling, requireAuth } from "./http.ts";
import { AccessIssuer } from "./issue.ts";
import { KillSwitch } from "./killswitch/index.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { ownRoleNames } from "./own-roles.ts";
import { PeopleService } from "./people/service.ts";
import { PeopleStore } from "./people/store.ts";
import { defaultReplicaId, Replica } from "./replica.ts";
import { RequestService } from "./requests.ts";
import { openRequestsStore } from "./requests-store.ts";
import { accessRoutes } from "./routes/access.ts";
import { accessReportRoutes } from "./routes/access-report.ts";
import { adminRoutes } from "./routes/admin.ts";
import { catalogueRoutes } from "./routes/catalogue.ts";
import { clientConfigRoutes } from "./routes/client-config.ts";
import { denialRoutes } from "./routes/denials.ts";
import { grantsExportRoutes } from "./routes/grants-export.ts";
import { healthRoutes } from "./routes/health.ts";
import { killSwitchRoutes } from "./routes/killswitch.ts";
import { peopleRoutes } from "./routes/people.ts";
import { requestRoutes } from "./routes/requests.ts";
import { scimTokens } from "./scim/auth.ts";
import { scimRoutes } from "./scim/routes.ts";
import { openStore, type Store } from "./store.ts";
import { Syncer } from "./sync.ts";
import { TagWatch } from "./tag-watch.ts";
import { Webhook } from "./webhook.ts";

export interface Broker {
  app: FastifyInstance;
  accounts: AccountDirectory;
  store: Store;
  /** The one database connection both stores (and other parts) share. */
  db: Db;
  syncer: Syncer;
  index: AccessIndex;
  tagWatch: TagWatch;
  aws: AwsGateway;
  metrics: Metrics;
  requests: RequestService;
  webhook: Webhook;
  /** The audit log's integrity checks and signed checkpoints. */
  audit: AuditGuard;
  /** Where people's groups come from (the token, or a directory with its cache). */
  groups: GroupSource;
  /** This broker among others on one database: leases, change feed, sweeps. */
  replica: Replica;
  /** People's enabled/disabled state; `people.onDisabled` is where the kill switch listens. */
  people: PeopleService;
  /** Revokes a person's live AWS sessions with per-role deny policies (issue 16). */
  killswitch: KillSwitch;
  /** Mark the broker ready (/readyz) once a sync has finished. */
  markReady(): void;
  close(): Promise<void>;
  /**
   * Stop as a killed process would (tests of takeover by another replica): timers stop, connections and
   * the database drop at once, no lease is released and nothing in flight gets to write its outcome.
   */
  kill(): void;
}

export interface BrokerOptions {
  /** Where logs go (tests capture them); default stdout. */
  logStream?: DestinationStream;
}

/** Paths pino blanks out wherever they appear: tokens, keys and session tokens never reach a log. */
export const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "authorization",
  "*.secretAccessKey",
  "*.sessionToken",
  "*.SessionToken",
  "*.SecretAccessKey",
  "*.token",
  "*.refresh_token",
  "*.access_token",
];

export function buildBroker(config: BrokerConfig, opts: BrokerOptions = {}): Broker {
  const metrics = createMetrics();
  // First: a SCIM token or a directory's secret that cannot be read stops the start before anything is opened.
  const tokens = config.scim ? scimTokens(config.scim.token_env) : undefined;
  // One connection for every store: SQLite's one file, or PostgreSQL's one session (transactions of the
  // stores then never wait on each other inside this process).
  const db = openConfiguredDb(config);
  let peopleStore: PeopleStore;
  try {
    peopleStore = new PeopleStore(db);
  } catch (e) {
    db.close();
    throw e;
  }
  const groups = createGroupSource(config, {
    people: peopleStore,
    // `app` is built below; the source logs only once requests arrive.
    log: { warn: (o, m) => app.log.warn(o, m), info: (o, m) => app.log.info(o, m) },
    onOutcome: (outcome) => metrics.directory.inc({ outcome }),
  });
  let guard: AuditGuard | undefined;
  let store: Store;
  try {
    store = openStore(db, { onAppend: (e) => guard?.appended(e) });
  } catch (e) {
    db.close();
    throw e;
  }
  const aws = new AwsGateway(config, {
    onStsCall: (kind, outcome) => metrics.stsCalls.inc({ kind, outcome }),
  });
  const accountNames = new Map(config.aws.accounts.map((a) => [a.id, a.name]));
  const index = new AccessIndex(
    { authorized: config.access.tag_keys, cliOnly: config.access.cli_only_tag_keys },
    config.oidc.force_groups_lowercase,
    accountNames,
    ownRoleNames(config),
  );
  // The webhook is made below with the app's logger; the watch only notifies once syncs run.
  const tagWatch: TagWatch = new TagWatch(config, store, {
    notify: (n) => webhook.notify(n),
    onIncident: (account) => metrics.ownRoleIncidents.inc({ account }),
    onCounts: (account, ownTagged) => {
      metrics.ownRolesTagged.set({ account }, ownTagged);
      metrics.tagChangesHeld.set(tagWatch.heldCount);
    },
    onChange: (c) => metrics.tagChanges.inc({ mode: c.mode, state: c.state }),
    reindex: (arn) => {
      syncer.reindex(arn);
      metrics.tagChangesHeld.set(tagWatch.heldCount);
    },
    warn: (detail, msg) => app.log.warn(detail, msg),
  });
  metrics.tagChangesHeld.set(tagWatch.heldCount);
  const accounts = new AccountDirectory(config, aws, accountNames);
  const replicaId = config.replicas.id ?? defaultReplicaId();
  const replica = new Replica(db, {
    id: replicaId,
    leaseMs: config.replicas.lease_ms,
    sweepMs: config.replicas.sweep_ms,
    feedPollMs: config.replicas.feed_poll_ms,
    // `app` is built below; the replica logs only once started.
    log: { warn: (o, m) => app.log.warn(o, m), info: (o, m) => app.log.info(o, m) },
    registry: metrics.registry,
  });
  let requestsRef: RequestService | undefined;
  const syncer = new Syncer(
    config,
    aws,
    store,
    index,
    tagWatch,
    {
      onAccountSynced: (account, seconds, ok) => {
        metrics.syncDuration.observe({ account }, seconds);
        if (!ok) metrics.syncErrors.inc({ account });
      },
      // The request service exists once the broker is built; a sync before that has nothing to check.
      onAccountStored: (account, since) => requestsRef?.watchHeld(account, since),
    },
    accounts,
    replica,
  );
  syncer.loadFromStore();
  const issuer = new AccessIssuer(config, index, aws);
  const adminGroups = new Set(
    config.access.admin_groups.map((g) => (config.oidc.force_groups_lowercase ? g.toLowerCase() : g)),
  );
  const isAdmin = (groups: readonly string[]) => groups.some((g) => adminGroups.has(g));

  const app = Fastify({
    logger: {
      level: config.log_level,
      redact: { paths: REDACT, censor: "[redacted]" },
      // Every line says which replica wrote it.
      base: { pid: process.pid, hostname: hostname(), replica: replicaId },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    genReqId: () => randomUUID(),
    // One log line per request (written in onResponse) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    bodyLimit: 16 * 1024,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    ...(config.tls
      ? { https: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } }
      : {}),
  });
  const webhook = new Webhook(config.requests.webhook_url, app.log);
  try {
    guard = new AuditGuard({
      config: config.audit,
      database: config.database,
      store,
      metrics,
      log: app.log,
      alert: (reason) =>
        webhook.notify({
          kind: "audit-tampered",
          requestId: "-",
          requester: "-",
          actor: "gatehouse",
          targets: [],
          detail: reason,
        }),
    });
  } catch (e) {
    aws.destroy();
    store.close();
    db.close();
    throw e;
  }
  const audit = guard;
  const verifier = new TokenVerifier(config.oidc, groups);
  // JSON only: a text/plain body on a state-changing route is refused with 415, not parsed.
  app.removeContentTypeParser("text/plain");
  installErrorHandling(app);

  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-request-id", req.id);
    reply.header("cache-control", "no-store");
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    req.log.info(
      {
        method: req.method,
        url: req.url.split("?")[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      "request",
    );
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });

  // Every sign-in the broker sees (a token it has not seen before) is audited once.
  const seen = new Set<string>();
  const auth = requireAuth(verifier);
  const requestsStore = openRequestsStore(db);
  const requests = new RequestService({
    config,
    store,
    requests: requestsStore,
    aws,
    syncer,
    index,
    webhook,
    log: app.log,
    isAdmin,
    coordination: replica,
  });
  requestsRef = requests;
  // What other replicas wrote reaches this one's index and caches.
  replica
    .on("account", (accountId) => {
      store.forgetCaches();
      syncer.loadFromStore(accountId);
    })
    .on("role", (arn) => {
      store.forgetCaches();
      syncer.reindex(arn);
    })
    .on("user", () => store.forgetCaches())
    .on("grant", (key) => {
      const [id, n] = key.split("/");
      if (id && n && /^\d+$/.test(n)) requests.reloadGrant(id, Number(n));
    })
    .onGap(() => {
      store.forgetCaches();
      syncer.loadFromStore();
      requests.loadGrants();
    })
    .sweep(() => requests.resumeOrphans());
  // SECURITY 36: refused tokens per client address, at most one audit row a minute each.
  const refused = new RefusedTokens((row) => {
    try {
      store.appendAudit(row);
    } catch (e) {
      app.log.error({ err: (e as Error).message }, "refused tokens not audited");
    }
  });
  refused.start();
  const people = new PeopleService({
    store: peopleStore,
    audit: (e) => store.appendAudit(e),
    cancelRequests: (email, actor, reason) => requests.cancelAllOf(email, actor, reason),
    log: app.log,
  });
  // The kill switch keeps its jobs on the broker's database, so any replica finishes what another began.
  const killswitch = new KillSwitch({
    db,
    store,
    aws,
    log: app.log,
    onWrite: (outcome) => metrics.killSwitchWrites.inc({ outcome }),
    onCounts: (counts) => {
      for (const [state, n] of Object.entries(counts)) metrics.killSwitchRoles.set({ state }, n);
    },
  });
  // Offboarding (SCIM deactivation or DELETE, an admin's disable) cuts the person's live AWS sessions;
  // enabling them again lets new sessions through (old ones stay denied until they expire).
  people.onDisabled((email, at, reason) => {
    killswitch.revokeSessions(email, at, "gatehouse", reason);
  });
  people.onEnabled((email, actor) => killswitch.restore(email, actor).then(() => undefined));
  app.register(async (scoped) => {
    // onRequest: a request without a valid token is refused before its body is even parsed.
    scoped.addHook("onRequest", async (req) => {
      try {
        await auth(req);
      } catch (e) {
        if (e instanceof GatehouseError && e.code === "UNAUTHENTICATED") refused.record(req.ip, e.message);
        throw e;
      }
      const p = req.principal!;
      try {
        people.assertEnabled(p.email);
      } catch (e) {
        refused.record(req.ip, `${p.email}: person disabled`);
        throw e;
      }
      const key = `${p.subject}:${(req.headers.authorization ?? "").slice(-16)}`;
      if (!seen.has(key)) {
        if (seen.size > 50_000) seen.clear();
        seen.add(key);
        store.appendAudit({
          actor: p.email,
          action: "signin.seen",
          target: null,
          outcome: "ok",
          // A directory may list thousands of groups: the audit row keeps the first 200 and the count.
          detail:
            p.groups.length > 200
              ? { groups: p.groups.slice(0, 200), groupCount: p.groups.length }
              : { groups: p.groups },
        });
      }
      // After an integrity failure (on_tamper: refuse) nothing changes and nothing is handed out until
      // someone has looked: the database's writer may have changed more than the audit (SECURITY 35).
      if (audit.refusing && req.method !== "GET")
        throw new GatehouseError(
          "AUDIT_TAMPERED",
          "the audit log failed its integrity check; the broker refuses changes and credentials until it is investigated",
        );
    });
    await accessRoutes(scoped, { config, index, issuer, store, isAdmin });
    await adminRoutes(scoped, { config, accounts, store, syncer, tagWatch, isAdmin });
    await requestRoutes(scoped, { requests, store });
    await catalogueRoutes(scoped, { config, store, accounts, isAdmin });
    await denialRoutes(scoped, { config, aws, index, store, isAdmin });
    await peopleRoutes(scoped, { people, store, isAdmin });
    await killSwitchRoutes(scoped, { killswitch, store, isAdmin });
    await accessReportRoutes(scoped, {
      config,
      index,
      db,
      requests: requestsStore,
      store,
      isAdmin,
    });
    await grantsExportRoutes(scoped, { config, db, store, isAdmin });
  });
  if (tokens)
    app.register(
      (scim) =>
        scimRoutes(scim, {
          tokens,
          store: peopleStore,
          people,
          audit: (e) => store.appendAudit(e),
          refused: (ip, why) => refused.record(ip, why),
        }),
      { prefix: "/scim/v2" },
    );
  let firstSyncDone = store.syncStatuses().some((s) => s.state === "ok");
  app.register(healthRoutes, {
    metrics,
    ready: () => firstSyncDone,
    storeUp: () => replica.storeUp(),
    auditProblem: () => audit.problem,
  });
  app.register(clientConfigRoutes, { oidc: config.oidc });

  return {
    app,
    accounts,
    store,
    db,
    syncer,
    index,
    tagWatch,
    aws,
    metrics,
    requests,
    webhook,
    audit,
    groups,
    replica,
    people,
    killswitch,
    markReady: () => {
      firstSyncDone = true;
    },
    kill() {
      replica.stop();
      syncer.stop();
      refused.stop();
      void requests.stop().catch(() => undefined);
      void audit.stop().catch(() => undefined);
      app.server.closeAllConnections();
      app.server.close();
      aws.destroy();
      requestsStore.close();
      store.close();
      db.close();
    },
    async close() {
      replica.stop();
      syncer.stop();
      refused.stop();
      await requests.stop();
      await killswitch.stop();
      await audit.stop();
      // In-flight requests get a short grace; then keep-alive connections are cut so close never hangs
      // for the 72 s keep-alive timeout.
      const grace = setTimeout(() => app.server.closeAllConnections(), 2000);
      grace.unref();
      await app.close();
      clearTimeout(grace);
      await webhook.drain();
      aws.destroy();
      requestsStore.close();
      store.close();
      db.close();
    },
  };
}

/** Start listening and run the first sync in the background; periodic syncs follow. */
export async function startBroker(
  config: BrokerConfig,
  opts: BrokerOptions = {},
): Promise<Broker & { url: string }> {
  const broker = buildBroker(config, opts);
  // The audit log is checked against its checkpoints before the first request is taken.
  await broker.audit.start();
  const address = await broker.app.listen({ host: config.listen.host, port: config.listen.port });
  broker.syncer
    .syncAll()
    .then(broker.markReady, (e) => broker.app.log.error({ err: e }, "first sync failed"));
  broker.syncer.startPeriodic(broker.markReady);
  broker.replica.start();
  // A stop between a SCIM deactivation and the person's state is finished now.
  broker.people.reconcile();
  // Resume what a stop left half-done and catch up on expiries, then check expiries on a timer.
  void broker.requests.start();
  // Likewise the kill switch: deny policies a stop left unwritten are written now.
  broker.killswitch.start();
  return { ...broker, url: address.replace("[::1]", "127.0.0.1") };
}
