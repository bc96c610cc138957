// Admin routes for people's state: who is disabled, one person's state, disable (with a reason) and
// enable. Disabling refuses the person's tokens from the next request and cancels their open requests.

import type { FastifyInstance } from "fastify";
import { disablePersonSchema, personEmailSchema } from "../../shared/scim.ts";
import { parse } from "../http.ts";
import type { PeopleService } from "../people/service.ts";
import type { Store } from "../store.ts";
import { adminGuard } from "./admin.ts";

export interface PeopleRoutesDeps {
  people: PeopleService;
  store: Store;
  isAdmin(groups: readonly string[]): boolean;
}

export async function peopleRoutes(app: FastifyInstance, deps: PeopleRoutesDeps): Promise<void> {
  const admin = adminGuard(deps.store, deps.isAdmin);
  const email = (params: unknown) => parse(personEmailSchema, (params as { email: string }).email, "e-mail");

  app.get("/v1/admin/people/disabled", async (req) => {
    admin(req);
    return { people: deps.people.disabledPeople() };
  });

  app.get("/v1/admin/people/:email", async (req) => {
    admin(req);
    return deps.people.state(email(req.params));
  });

  app.post("/v1/admin/people/:email/disable", async (req) => {
    const p = admin(req);
    const who = email(req.params);
    const { reason } = parse(disablePersonSchema, req.body, "body");
    return deps.people.disable(who, { source: "admin", actor: p.email, reason });
  });

  app.post("/v1/admin/people/:email/enable", async (req) => {
    const p = admin(req);
    return deps.people.enable(email(req.params), { source: "admin", actor: p.email });
  });
}
