// Admin routes of the kill switch: revoke a person's live AWS sessions, let them in again, and see each
// role's deny statement (written, pending, failed and why). The people-disable route of issue 16
// (i16-scim) calls the same KillSwitch; these stay for incidents where only the AWS side is wanted.

import type { FastifyInstance, FastifyRequest } from "fastify";
import { GatehouseError } from "../../shared/errors.ts";
import { killSwitchQuerySchema, personParamSchema, revokeSessionsSchema } from "../../shared/killswitch.ts";
import { parse, principalOf } from "../http.ts";
import type { KillSwitch } from "../killswitch/index.ts";
import type { Store } from "../store.ts";

export interface KillSwitchRoutesDeps {
  killswitch: KillSwitch;
  store: Store;
  isAdmin(groups: readonly string[]): boolean;
}

export async function killSwitchRoutes(app: FastifyInstance, deps: KillSwitchRoutesDeps): Promise<void> {
  const { killswitch, store } = deps;
  const admin = (req: FastifyRequest) => {
    const p = principalOf(req);
    if (!deps.isAdmin(p.groups)) {
      store.appendAudit({
        actor: p.email,
        action: "admin.denied",
        target: req.routeOptions.url ?? req.url,
        outcome: "denied",
        detail: { requestId: req.id },
      });
      throw new GatehouseError("FORBIDDEN", "this route is for Gatehouse administrators");
    }
    return p;
  };

  app.post("/v1/admin/people/:email/revoke-sessions", async (req, reply) => {
    const p = admin(req);
    const { email } = parse(personParamSchema, req.params, "path");
    const body = parse(revokeSessionsSchema, req.body, "body");
    const out = killswitch.revokeSessions(email, new Date(), p.email, body.reason);
    reply.code(out.created ? 201 : 200);
    return { revocation: out.revocation, items: out.items };
  });

  app.post("/v1/admin/people/:email/restore-sessions", async (req) => {
    const p = admin(req);
    const { email } = parse(personParamSchema, req.params, "path");
    const revocation = await killswitch.restore(email, p.email);
    if (!revocation) throw new GatehouseError("REVOCATION_NOT_FOUND", `no revocation of ${email} to lift`);
    return { revocation };
  });

  app.get("/v1/admin/killswitch", async (req) => {
    admin(req);
    const q = parse(killSwitchQuerySchema, req.query, "query");
    return { revocations: killswitch.status(q.email) };
  });
}
