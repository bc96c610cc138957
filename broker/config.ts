// The broker's configuration: YAML parsed strictly (duplicate keys, unknown keys and wrong types
// are errors naming file and line), validated with zod, with defaults made explicit.

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { type Document, isMap, isPair, isScalar, isSeq, parseDocument } from "yaml";
import { z } from "zod";
import { GatehouseError } from "../shared/errors.ts";
import { databaseFolder } from "./audit/keys.ts";
import { sinkConfigSchema } from "./audit/sinks/index.ts";
import { defaultTlsMode, isPostgresUrl } from "./db/index.ts";
import { parsePostgresUrl } from "./db/postgres.ts";
import { PROVIDER_NAMES } from "./providers/index.ts";
import { resolveOidc } from "./providers/resolve.ts";

// An unquoted id is a YAML number (leading zeros gone), so its type error says to quote it; a missing
// id keeps the default message (undefined), which parseConfig words as "required key is missing".
const accountId = z
  .string({
    error: (iss) =>
      typeof iss.input === "number"
        ? 'an AWS account id must be quoted ("123456789012"): unquoted, YAML reads it as a number'
        : undefined,
  })
  .regex(/^\d{12}$/, "an AWS account id is 12 digits (quote it in YAML)");
const roleName = z
  .string()
  .regex(/^[\w+=,.@-]{1,64}$/, "a role name is 1-64 characters of A-Z a-z 0-9 _+=,.@-");
const roleArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\u0021-\u007E]*\/)?[\w+=,.@-]{1,64}$/,
    "not an IAM role ARN (arn:aws:iam::123456789012:role/Name)",
  );
const url = z.url({ protocol: /^https?$/ });
// A claim name: a dotted path as before, or a list of keys for names holding dots, slashes or colons.
const CLAIM_NAME_HELP =
  'a dotted path (realm_access.roles), or a list of keys (["https://gatehouse.example.com/groups"]) for a name with dots, slashes or colons';
const claimName = z.union(
  [
    z.string().regex(/^[\w-]+(\.[\w-]+)*$/, CLAIM_NAME_HELP),
    z.array(z.string().min(1).max(256)).min(1, CLAIM_NAME_HELP).max(8),
  ],
  { error: CLAIM_NAME_HELP },
);
const domain = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
    "a domain name (example.com)",
  );

/** An OU by id (`ou-…`, `r-…`) or by its path of names from the root (`Workloads/Prod`). */
const ouRef = z
  .string()
  .regex(
    /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|[^/]{1,128}(\/[^/]{1,128}){0,4})$/,
    "an OU id (ou-…, r-…) or a path of OU names from the root (Workloads/Prod)",
  );
/** Account tag filters: every key must carry one of its values. */
const tagFilter = z.record(z.string().min(1).max(128), z.array(z.string().max(256)).min(1));

export const organizationsSchema = z.strictObject({
  /** A role (in the management account or a delegated administrator) the central role assumes to read the organisation; unset: the central role itself reads it. */
  role_arn: roleArn.optional(),
  /** OUs whose accounts (in nested OUs too) are synced; empty: the whole organisation. */
  include_ous: z.array(ouRef).default([]),
  /** OUs left out (nested OUs too), even inside an included one. */
  exclude_ous: z.array(ouRef).default([]),
  include_tags: tagFilter.default({}),
  exclude_tags: tagFilter.default({}),
  /** `account_name`, or `tag:KEY` (an account without the tag keeps its account name). */
  name_from: z
    .string()
    .regex(/^(account_name|tag:.{1,128})$/, "account_name or tag:KEY")
    .default("account_name"),
});
export type OrganizationsConfig = z.infer<typeof organizationsSchema>;

const baseIdentity = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("static"),
    access_key_id: z.string().regex(/^AKIA[A-Z0-9]{12,124}$/, "an access key id starts with AKIA"),
    /** The secret itself, or the name of an environment variable that holds it. */
    secret_access_key: z.string().min(1).optional(),
    secret_access_key_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional(),
  }),
  z.strictObject({ type: z.literal("default_chain") }),
]);

export const GROUP_SOURCES = ["token", "google_directory", "microsoft_graph", "okta_api"] as const;

/** A secret is never written in the YAML: it comes from an environment variable or a file. */
const secretRef = (what: string) =>
  z
    .strictObject({
      env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name (A-Z, 0-9, _)")
        .optional(),
      file: z.string().min(1).optional(),
    })
    .refine((s) => (s.env === undefined) !== (s.file === undefined), {
      message: `give exactly one of env or file for the ${what}`,
    });

const directorySchema = z.strictObject({
  /**
   * When the directory is asked: `no_groups_in_token` (the token carries no groups claim or marks an
   * overage), `overage` (only when it marks one: Entra's `_claim_names.groups` or `hasgroups`), `always`
   * (the directory alone decides; the token's groups are not used).
   */
  when: z.enum(["no_groups_in_token", "overage", "always"]).default("no_groups_in_token"),
  /**
   * The claim naming the person in the directory, a dotted path or a list of keys like the oidc claims;
   * default per directory (email: the person's verified e-mail as read by oidc.email_claim; oid; uid).
   */
  user_claim: claimName.optional(),
  /** A person's groups are kept this long before the directory is asked again. */
  cache_seconds: z.number().int().min(1).max(86_400).default(300),
  /** While the directory fails, a cached answer is served until it is this old (then 503). */
  max_stale_seconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(3600),
  /** Persons kept in the cache (least recently used go first)… */
  max_entries: z.number().int().min(1).max(1_000_000).default(10_000),
  /** …and group names kept in all (a bound on memory whatever the persons' group counts). */
  max_cached_groups: z.number().int().min(1).max(50_000_000).default(2_000_000),
  /** A person in more groups than this is refused (DIRECTORY_TOO_MANY_GROUPS), never cut short. */
  max_groups_per_person: z.number().int().min(1).max(1_000_000).default(20_000),
  /** Each HTTP call to the directory (token endpoint, one page) gives up after this long. */
  timeout_seconds: z.number().positive().max(120).default(10),
  /** After the directory could not be reached, it is not asked again for this long. */
  retry_after_seconds: z.number().min(0).max(3600).default(5),
  google_directory: z
    .strictObject({
      /** The service account's JSON key. */
      service_account_key: secretRef("service account key"),
      /** A Workspace admin the service account acts for (domain-wide delegation); omit for an admin-role service account. */
      subject: z.email().optional(),
      /** Also read nested groups with Cloud Identity's searchTransitiveGroups (a premium edition). */
      transitive: z.boolean().default(false),
      token_url: url.default("https://oauth2.googleapis.com/token"),
      directory_url: url.default("https://admin.googleapis.com"),
      cloud_identity_url: url.default("https://cloudidentity.googleapis.com"),
      page_size: z.number().int().min(1).max(200).default(200),
    })
    .optional(),
  microsoft_graph: z
    .strictObject({
      tenant_id: z.string().regex(/^[\w.-]{1,100}$/, "a tenant id (GUID) or domain"),
      client_id: z.string().min(1).max(100),
      client_secret: secretRef("client secret"),
      /** `transitive_member_of` (paged, nested groups) or `get_member_groups` (ids only, up to 11,000). */
      method: z.enum(["transitive_member_of", "get_member_groups"]).default("transitive_member_of"),
      login_url: url.default("https://login.microsoftonline.com"),
      graph_url: url.default("https://graph.microsoft.com"),
      scope: z.string().min(1).default("https://graph.microsoft.com/.default"),
      page_size: z.number().int().min(1).max(999).default(999),
    })
    .optional(),
  okta_api: z
    .strictObject({
      /** The Okta org, e.g. https://example.okta.com. */
      org_url: url,
      api_token: secretRef("API token"),
      page_size: z.number().int().min(1).max(200).default(200),
    })
    .optional(),
});

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(7420),
    })
    .default({ host: "127.0.0.1", port: 7420 }),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** A SQLite file (relative to this config) or a postgres:// URL without its password. */
  database: z.string().min(1).default("gatehouse-broker.sqlite"),
  /** A cap on the database's size in MiB: when reached, the broker refuses (503) instead of filling the disk. */
  database_max_mb: z.number().positive().max(1_048_576).optional(),
  /** PostgreSQL: the environment variable holding the password (default PGPASSWORD). */
  database_password_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
    .optional(),
  /** PostgreSQL: TLS to the server (default verify-full unless the host is loopback or a socket). */
  database_tls: z
    .strictObject({
      mode: z.enum(["disable", "require", "verify-full"]).optional(),
      /** PEM file of the CA(s) to trust instead of the system's. */
      ca_file: z.string().min(1).optional(),
    })
    .optional(),
  /** PostgreSQL: how long to wait for a connection and for one statement before answering 503. */
  database_timeouts: z
    .strictObject({
      connect_seconds: z.number().positive().max(300).default(5),
      statement_seconds: z.number().positive().max(3600).default(15),
    })
    .optional(),
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  oidc: z
    .strictObject({
      /** Fills the defaults this IdP needs (token kind, claims, scopes, parameters); every key below overrides. */
      provider: z.enum(PROVIDER_NAMES).default("generic"),
      issuer: url,
      /** Which token the desktop sends: an access token for `audience`, or its ID token (for `client_id`). */
      token: z.enum(["access_token", "id_token"]).optional(),
      /** The API audience of access tokens (`aud`). */
      audience: z.string().min(1).optional(),
      /** The desktop's OAuth client id: published to desktops, and the audience of ID tokens. */
      client_id: z.string().min(1).max(256).optional(),
      /** Only for providers that want one from a public client (Google "Desktop app"): it is not a secret. */
      client_secret: z.string().min(1).max(256).optional(),
      scopes: z
        .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, "a scope is printable ASCII without spaces"))
        .min(1)
        .optional(),
      /** Extra parameters of the authorization request (Auth0's audience, Google's access_type). */
      authorization_params: z.record(z.string().regex(/^[\w.-]{1,64}$/), z.string().max(512)).optional(),
      /** The groups claim: a dotted path (`realm_access.roles`) or a list of keys (`["cognito:groups"]`). */
      groups_claim: claimName.optional(),
      email_claim: claimName.optional(),
      /** Accept only people of these domains (Google's `hd`, else the e-mail's domain). */
      allowed_domains: z.array(domain).min(1).optional(),
      /** Accept a mutable claim (Entra's preferred_username/upn) as the e-mail: someone else may hold it later. */
      allow_mutable_email_claim: z.boolean().default(false),
      force_groups_lowercase: z.boolean().default(false),
      algorithms: z
        .array(
          z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]),
        )
        .min(1)
        .default(["RS256", "ES256"]),
      clock_skew_seconds: z.number().int().min(0).max(60).default(30),
      /** A token valid for longer than this (`exp - iat`) is refused, whatever its signature (SECURITY 37). */
      max_token_lifetime_seconds: z
        .number()
        .int()
        .min(60)
        .max(30 * 86_400)
        .default(86_400),
      /**
       * An unknown `kid` re-fetches the JWKS at most this often (key rotation without hammering the IdP);
       * after the IdP fails to answer, the broker also waits this long before asking it again.
       */
      jwks_cooldown_seconds: z.number().int().min(1).max(3600).default(30),
      /** Where a person's groups come from: the token's claim, or a directory (configured in `directory`). */
      groups_source: z.enum(GROUP_SOURCES).default("token"),
    })
    .transform((raw, ctx) => {
      const { resolved, traps } = resolveOidc(raw);
      for (const t of traps)
        ctx.addIssue({ code: "custom", path: t.path.split("."), message: `${raw.provider}: ${t.message}` });
      return { ...raw, ...resolved, allowed_domains: raw.allowed_domains?.map((d) => d.toLowerCase()) };
    }),
  directory: directorySchema.optional(),
  aws: z.strictObject({
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
      .default("us-east-1"),
    /** Endpoint for STS and IAM; unset means AWS itself. Set to the emulator in development. */
    endpoint: url.optional(),
    federation_url: url.default("https://signin.aws.amazon.com/federation"),
    console_url: url.default("https://console.aws.amazon.com/"),
    base_identity: baseIdentity.default({ type: "default_chain" }),
    central_role_arn: roleArn.optional(),
    spoke_role_name: roleName,
    /** Session name the broker uses for its own sessions (sync, central). */
    broker_session_name: z
      .string()
      .regex(/^[\w+=,.@-]{2,64}$/)
      .default("gatehouse-broker"),
    /**
     * Where the accounts come from: `list` (the `accounts` below) or `organizations` (AWS Organizations,
     * re-read before every sync; `accounts` entries then only override a discovered account's name or
     * spoke role name).
     */
    accounts_from: z.enum(["list", "organizations"]).default("list"),
    organizations: organizationsSchema.optional(),
    /**
     * The accounts. With `accounts_from: organizations` this list is the live set the broker found and
     * is replaced before each sync (broker/accounts.ts); readers see the current accounts through it.
     */
    accounts: z
      .array(
        z.strictObject({
          id: accountId,
          name: z.string().min(1).max(64),
          spoke_role_name: roleName.optional(),
        }),
      )
      .default([]),
  }),
  access: z
    .strictObject({
      tag_keys: z.array(z.string().min(1).max(128)).min(1).default(["gatehouse-authorized"]),
      cli_only_tag_keys: z.array(z.string().min(1).max(128)).default(["gatehouse-authorized-cli-only"]),
      /** Groups whose members may use the admin routes (sync, audit, tag changes). */
      admin_groups: z.array(z.string().min(1)).default([]),
      /**
       * Access-tag changes made outside Gatehouse, noticed by each sync (SECURITY 32): `trust` applies
       * them (audited), `alert` applies them and tells the webhook, `hold` keeps serving the previous
       * principals a change adds until an admin accepts it (removals apply at once).
       */
      external_tag_changes: z.enum(["trust", "alert", "hold"]).default("alert"),
    })
    .default({
      tag_keys: ["gatehouse-authorized"],
      cli_only_tag_keys: ["gatehouse-authorized-cli-only"],
      admin_groups: [],
      external_tag_changes: "alert",
    }),
  sync: z
    .strictObject({
      interval_seconds: z.number().int().min(10).max(86_400).default(300),
      account_concurrency: z.number().int().min(1).max(64).default(8),
      requests_per_second: z.number().positive().max(100).default(5),
      max_attempts: z.number().int().min(1).max(20).default(6),
    })
    .default({ interval_seconds: 300, account_concurrency: 8, requests_per_second: 5, max_attempts: 6 }),
  credentials: z
    .strictObject({
      default_duration_seconds: z.number().int().min(900).max(43_200).default(3600),
    })
    .default({ default_duration_seconds: 3600 }),
  requests: z
    .strictObject({
      /** Groups (or e-mails) that may approve any request. */
      approver_groups: z.array(z.string().min(1)).default([]),
      /** Further approvers per account id. */
      account_approver_groups: z.record(accountId, z.array(z.string().min(1))).default({}),
      approvals_required: z.number().int().min(1).max(10).default(1),
      allow_permanent: z.boolean().default(false),
      /**
       * Allow requests that can change access (permissions, trust, credentials, access tags) or reach
       * Gatehouse's own roles (SECURITY 25, 31); each then needs an admin among its approvers.
       */
      break_glass: z.boolean().default(false),
      /**
       * Who may list request targets (GET /v1/targets): everyone signed in, approvers (and admins), or
       * the members of targets_visible_groups (and admins).
       */
      targets_visible_to: z.enum(["everyone", "approvers", "groups"]).default("everyone"),
      /** The groups (or e-mails) for `targets_visible_to: groups`; set only with it. */
      targets_visible_groups: z.array(z.string().min(1)).optional(),
      webhook_url: url.optional(),
      /** Webhook deliveries wait in an outbox in the database; each is tried this many times at most, */
      webhook_max_attempts: z.number().int().min(1).max(100).default(10),
      /** for at most this long after it was written (then it is marked dead, logged and audited), */
      webhook_max_age_seconds: z
        .number()
        .int()
        .min(60)
        .max(30 * 86_400)
        .default(86_400),
      /** first retried after this long, each further retry twice as late (up to an hour). */
      webhook_backoff_ms: z.number().int().min(10).max(3600_000).default(2000),
      /** How often the expiry scheduler looks for expired policies and grants. */
      expiry_check_seconds: z.number().int().min(1).max(3600).default(60),
    })
    .default({
      approver_groups: [],
      account_approver_groups: {},
      approvals_required: 1,
      allow_permanent: false,
      break_glass: false,
      targets_visible_to: "everyone",
      webhook_max_attempts: 10,
      webhook_max_age_seconds: 86_400,
      webhook_backoff_ms: 2000,
      expiry_check_seconds: 60,
    }),
  /** The audit log's integrity: signed checkpoints of its head written outside the database (SECURITY 35). */
  audit: z
    .strictObject({
      checkpoints: z
        .strictObject({
          /** The Ed25519 signing key (PKCS#8 PEM or base64 DER) in this environment variable… */
          private_key_env: z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/)
            .optional(),
          /** …or in this file (mode 0600, outside the database's folder). Never in the database. */
          private_key_file: z.string().min(1).optional(),
          /** Its public half (PEM): checked against the private key at start, used to read checkpoints back. */
          public_key_file: z.string().min(1),
          /** A checkpoint this often (seconds), and after this many new rows. */
          interval_seconds: z.number().int().min(1).max(86_400).default(300),
          every_rows: z.number().int().min(1).max(1_000_000).default(1000),
          sinks: z.array(sinkConfigSchema).min(1),
        })
        .optional(),
      /** The whole chain is checked against the last checkpoint at start and this often (seconds). */
      verify_interval_seconds: z.number().int().min(1).max(86_400).default(600),
      /** After an integrity failure: refuse every state-changing call (503 AUDIT_TAMPERED), or serve on. */
      on_tamper: z.enum(["refuse", "serve"]).default("refuse"),
    })
    .default({ verify_interval_seconds: 600, on_tamper: "refuse" }),
});

export type BrokerConfig = z.infer<typeof configSchema>;
export type AuditConfig = BrokerConfig["audit"];

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function lineAt(text: string, offset: number | undefined): number | undefined {
  return offset === undefined ? undefined : text.slice(0, offset).split("\n").length;
}

/** The line of the value at `path`, or of the key `key` inside it (unknown keys). */
function lineOf(doc: Document, text: string, path: (string | number)[], key?: string): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as unknown;
    if (n === path.length && key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      const k = pair && isScalar(pair.key) ? pair.key : undefined;
      if (k?.range) return lineAt(text, k.range[0]);
    }
    const range = (node as { range?: [number, number] } | undefined)?.range;
    if (range) return lineAt(text, range[0]);
  }
  return undefined;
}

/** The dotted key path of the map key that starts at `offset` (where YAML reports a duplicate key). */
function keyPathAt(node: unknown, offset: number, path: (string | number)[] = []): string | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      const kr = (pair.key as { range?: [number, number] } | null)?.range;
      if (kr?.[0] === offset) return [...path, key].join(".");
      const found = keyPathAt(pair.value, offset, [...path, key]);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const found = keyPathAt(item, offset, [...path, i]);
      if (found) return found;
    }
  }
  return undefined;
}

export function parseConfig(text: string, file: string): BrokerConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    // Name the duplicated key's path: "line 18: duplicate key" alone leaves people counting indents.
    const dup = e.code === "DUPLICATE_KEY" ? keyPathAt(doc.contents, e.pos[0]) : undefined;
    const msg =
      e.code === "DUPLICATE_KEY"
        ? `${dup ? `${dup}: ` : ""}duplicate key: each key may appear once (the second would silently win)`
        : (e.message.split("\n")[0] ?? "").replace(/:$/, "");
    throw new GatehouseError("CONFIG_INVALID", `${file}${line ? `:${line}` : ""}: ${msg}`);
  }
  const raw = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    let msg = issue.message;
    let line: number | undefined;
    if (issue.code === "unrecognized_keys") {
      msg = `unknown key "${issue.keys[0]}"`;
      line = lineOf(doc, text, path, issue.keys[0]);
    } else {
      line = lineOf(doc, text, path);
      if (issue.code === "invalid_type" && / received undefined$/.test(msg)) msg = "required key is missing";
    }
    const where = path.length ? `${path.join(".")}: ` : "";
    throw new GatehouseError("CONFIG_INVALID", `${file}${line ? `:${line}` : ""}: ${where}${msg}`);
  }
  const config = parsed.data;
  const fail = (path: (string | number)[], msg: string) => {
    const line = lineOf(doc, text, path);
    throw new GatehouseError("CONFIG_INVALID", `${file}${line ? `:${line}` : ""}: ${path.join(".")}: ${msg}`);
  };
  if (config.aws.accounts_from === "list" && config.aws.accounts.length === 0)
    fail(["aws", "accounts"], "list at least one account, or set accounts_from: organizations");
  if (config.aws.accounts_from === "list" && config.aws.organizations)
    fail(["aws", "organizations"], "only read with accounts_from: organizations");
  if (config.aws.accounts_from === "organizations")
    config.aws.organizations ??= organizationsSchema.parse({});
  const seen = new Map<string, number>();
  config.aws.accounts.forEach((a, i) => {
    if (seen.has(a.id))
      fail(
        ["aws", "accounts", i, "id"],
        `account ${a.id} is listed twice (also at aws.accounts.${seen.get(a.id)})`,
      );
    seen.set(a.id, i);
  });
  const bi = config.aws.base_identity;
  if (
    bi.type === "static" &&
    (bi.secret_access_key === undefined) === (bi.secret_access_key_env === undefined)
  ) {
    fail(["aws", "base_identity"], "give exactly one of secret_access_key or secret_access_key_env");
  }
  if (!config.tls && !LOOPBACK.has(config.listen.host)) {
    fail(
      ["listen", "host"],
      `plain HTTP is allowed only on loopback; set tls.cert and tls.key to listen on ${config.listen.host}`,
    );
  }
  const rq = config.requests;
  if (rq.targets_visible_to === "groups" && !rq.targets_visible_groups?.length)
    fail(
      ["requests", "targets_visible_to"],
      "targets_visible_to: groups needs targets_visible_groups (a list)",
    );
  if (rq.targets_visible_to !== "groups" && rq.targets_visible_groups !== undefined)
    fail(
      ["requests", "targets_visible_groups"],
      `targets_visible_groups applies only with targets_visible_to: groups (it is ${rq.targets_visible_to})`,
    );
  const source = config.oidc.groups_source;
  const dir = config.directory;
  if (source !== "token" && !dir?.[source])
    fail(["oidc", "groups_source"], `groups_source ${source} needs a directory.${source} block`);
  for (const kind of GROUP_SOURCES) {
    if (kind !== "token" && kind !== source && dir?.[kind])
      fail(
        ["directory", kind],
        `directory.${kind} is set but oidc.groups_source is ${source}: it would be unused`,
      );
  }
  if (dir && source === "token") fail(["directory"], "directory is set but oidc.groups_source is token");
  const base = dirname(resolve(file));
  const rel = (p: string) => (isAbsolute(p) || p === ":memory:" ? p : resolve(base, p));
  if (isPostgresUrl(config.database)) {
    try {
      parsePostgresUrl(config.database);
    } catch (e) {
      fail(["database"], (e as Error).message.replace(/^database: /, ""));
      throw e;
    }
    if (config.database_max_mb !== undefined)
      fail(["database_max_mb"], "database_max_mb caps a SQLite file; PostgreSQL has its own quotas");
    const tls = config.database_tls ?? {};
    // Off the machine, a database connection carries every role and audit row: verified TLS by default.
    tls.mode ??= defaultTlsMode(config.database);
    if (tls.ca_file) {
      if (tls.mode !== "verify-full")
        fail(["database_tls", "ca_file"], `ca_file applies only with mode verify-full (it is ${tls.mode})`);
      tls.ca_file = rel(tls.ca_file);
    }
    config.database_tls = tls;
  } else {
    for (const key of ["database_password_env", "database_tls", "database_timeouts"] as const)
      if (config[key] !== undefined) fail([key], `${key} applies only to a postgres:// database`);
    config.database = rel(config.database);
  }
  if (config.tls) config.tls = { cert: rel(config.tls.cert), key: rel(config.tls.key) };
  const cps = config.audit.checkpoints;
  if (cps) {
    if ((cps.private_key_env === undefined) === (cps.private_key_file === undefined))
      fail(["audit", "checkpoints"], "give exactly one of private_key_env or private_key_file");
    if (cps.private_key_file) cps.private_key_file = rel(cps.private_key_file);
    cps.public_key_file = rel(cps.public_key_file);
    const folder = databaseFolder(config.database);
    cps.sinks.forEach((sink, i) => {
      if (sink.type !== "file") return;
      sink.path = rel(sink.path);
      // Whoever can write the database's folder could rewrite a sink kept there.
      if (folder && (dirname(sink.path) + "/").startsWith(folder + "/"))
        fail(
          ["audit", "checkpoints", "sinks", i, "path"],
          `a checkpoint file must lie outside the database's folder (${folder})`,
        );
    });
  }
  for (const d of [
    dir?.google_directory?.service_account_key,
    dir?.microsoft_graph?.client_secret,
    dir?.okta_api?.api_token,
  ])
    if (d?.file) d.file = rel(d.file);
  return config;
}

export function loadConfig(file: string): BrokerConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new GatehouseError("CONFIG_INVALID", `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseConfig(text, file);
}

export type AccountConfig = BrokerConfig["aws"]["accounts"][number];

/** The spoke role name in an account: the account's override, else the global name. */
export function spokeRoleName(config: BrokerConfig, account: AccountConfig): string {
  return account.spoke_role_name ?? config.aws.spoke_role_name;
}

/** The spoke role to assume in an account: the account's override, else the global name. */
export function spokeRoleArn(config: BrokerConfig, account: AccountConfig): string {
  return `arn:aws:iam::${account.id}:role/${spokeRoleName(config, account)}`;
}
