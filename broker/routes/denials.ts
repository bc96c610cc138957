// POST /v1/denials/decode: EC2's "Encoded authorization failure message" decoded through
// sts:DecodeAuthorizationMessage with the spoke role of the account it came from, for `request from-error`.

// Who may read it: the decoded message can reveal policy details (the request's condition keys, what
// matched), so it is told only to a person who may already see the denied principal's access: an admin, a
// person who may use the denied role, or an approver of the denied role or user. Anyone else gets
// FORBIDDEN and nothing of the content; every decode, refused or not, is audited (never the message itself).

import type { FastifyInstance } from "fastify";
import { personPrincipals } from "../../shared/access.ts";
import { type DecodeDenialResponse, decodeDenialRequestSchema } from "../../shared/api.ts";
import { principalRef } from "../../shared/denials/draft.ts";
import { parseDecodedMessage } from "../../shared/denials/parse.ts";
import { GatehouseError } from "../../shared/errors.ts";
import type { AccessIndex } from "../access-index.ts";
import type { AwsGateway } from "../aws.ts";
import type { BrokerConfig } from "../config.ts";
import { parse, principalOf } from "../http.ts";
import type { Store } from "../store.ts";
import { approversOf } from "../targets.ts";

/** Accounts tried when the caller names none: beyond this, they must say which account the error came from. */
const MAX_ACCOUNTS_TRIED = 25;

export interface DenialRoutesDeps {
  config: BrokerConfig;
  aws: Pick<AwsGateway, "decodeAuthorizationMessage">;
  index: AccessIndex;
  store: Store;
  isAdmin(groups: readonly string[]): boolean;
}

export async function denialRoutes(app: FastifyInstance, deps: DenialRoutesDeps): Promise<void> {
  const { config, store } = deps;

  /** Decode in the named account, else in each managed one until AWS accepts the message. */
  async function decode(encoded: string, accountId?: string): Promise<DecodeDenialResponse> {
    const managed = config.aws.accounts.map((a) => a.id);
    if (accountId !== undefined && !managed.includes(accountId))
      throw new GatehouseError("DENIAL_UNDECODABLE", `account ${accountId} is not one Gatehouse manages`);
    const tried = accountId !== undefined ? [accountId] : managed.slice(0, MAX_ACCOUNTS_TRIED);
    let last: unknown;
    let refused = false;
    for (const id of tried) {
      try {
        return { accountId: id, decoded: await deps.aws.decodeAuthorizationMessage(id, encoded) };
      } catch (e) {
        // Another account's message (or a spoke without the permission): the next account may decode it.
        if (e instanceof GatehouseError && e.code === "DENIAL_UNDECODABLE") refused = true;
        last = e;
      }
    }
    // No account could even try (every spoke failed or lacks the permission): that, not the message, is the problem.
    if (!refused && last !== undefined) throw last;
    throw new GatehouseError(
      "DENIAL_UNDECODABLE",
      accountId !== undefined || managed.length <= MAX_ACCOUNTS_TRIED
        ? "AWS would not decode this message in any account Gatehouse manages: it is forged, altered or expired"
        : `AWS would not decode this message in the first ${MAX_ACCOUNTS_TRIED} accounts; say which account the error came from`,
      last === undefined ? {} : { cause: last },
    );
  }

  app.post("/v1/denials/decode", async (req) => {
    const p = principalOf(req);
    const body = parse(decodeDenialRequestSchema, req.body, "body");
    const audit = (outcome: "ok" | "denied" | "error", target: string | null, detail: object) =>
      store.appendAudit({
        actor: p.email,
        action: "denial.decode",
        target,
        outcome,
        detail: { ...detail, requestId: req.id },
      });
    let out: DecodeDenialResponse;
    try {
      out = await decode(body.encoded, body.accountId);
    } catch (e) {
      const code = e instanceof GatehouseError ? e.code : "INTERNAL";
      audit(code === "DENIAL_UNDECODABLE" ? "denied" : "error", body.accountId ?? null, { code });
      throw e;
    }
    const message = parseDecodedMessage(out.decoded);
    if (!message) {
      audit("error", out.accountId, { code: "DENIAL_UNDECODABLE" });
      throw new GatehouseError(
        "DENIAL_UNDECODABLE",
        "AWS decoded the message, but not into its authorization-failure shape",
      );
    }
    const who = message.context.principal.arn;
    if (!maySee(deps, p, who)) {
      audit("denied", who, { code: "FORBIDDEN", accountId: out.accountId });
      throw new GatehouseError(
        "FORBIDDEN",
        "only an admin, a person who may use the denied role, or an approver of the denied role or user may read this decoded message",
      );
    }
    audit("ok", who, { accountId: out.accountId, action: message.context.action });
    return out;
  });
}

/** Whether the person may read a decoded message about `principal` (see the file's comment). */
function maySee(deps: DenialRoutesDeps, p: ReturnType<typeof principalOf>, principal: string): boolean {
  if (deps.isAdmin(p.groups)) return true;
  const ref = principalRef(principal);
  if (!ref || !deps.config.aws.accounts.some((a) => a.id === ref.accountId)) return false;
  if (ref.type === "role" && deps.index.find(p, { kind: "name", account: ref.accountId, role: ref.name }))
    return true;
  const arn =
    ref.type === "user" && principal.startsWith("arn:")
      ? principal
      : `arn:${ref.partition}:iam::${ref.accountId}:${ref.type}/${ref.name}`;
  const approvers = approversOf(deps.config, deps.store, { type: ref.type, arn, accountId: ref.accountId });
  const lower = deps.config.oidc.force_groups_lowercase;
  return personPrincipals(p, lower).some((x) => approvers.has(x));
}
