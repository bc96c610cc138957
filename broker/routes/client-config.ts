// GET /v1/client-config (no authentication): the sign-in settings desktops need, so a person types only the URL.

import type { FastifyInstance } from "fastify";
import type { ClientConfig } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import type { BrokerConfig } from "../config.ts";

export function clientConfigOf(oidc: BrokerConfig["oidc"]): ClientConfig | undefined {
  if (!oidc.client_id) return undefined;
  return {
    issuer: oidc.issuer,
    clientId: oidc.client_id,
    ...(oidc.client_secret ? { clientSecret: oidc.client_secret } : {}),
    scopes: oidc.scopes,
    authorizationParams: oidc.authorization_params,
    token: oidc.token,
  };
}

export async function clientConfigRoutes(
  app: FastifyInstance,
  deps: { oidc: BrokerConfig["oidc"] },
): Promise<void> {
  const published = clientConfigOf(deps.oidc);
  app.get("/v1/client-config", async () => {
    if (!published) throw new GatehouseError("CLIENT_CONFIG_UNAVAILABLE");
    return published;
  });
}
