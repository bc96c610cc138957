// `gatehouse-broker people disable EMAIL --reason TEXT --config FILE [--by NAME]`: disable a person on
// the broker's host (an incident with no admin token at hand). Written to the broker's database, so every
// broker refuses the person's tokens from its next request; their open requests are cancelled; audited.

import { userInfo } from "node:os";
import { GatehouseError } from "../../shared/errors.ts";
import { disablePersonSchema, personEmailSchema } from "../../shared/scim.ts";
import type { PeopleService } from "../people/service.ts";

export interface PeopleDisableInput {
  email: string | undefined;
  reason: string | undefined;
  /** Who disables (audited); default the operating-system user. */
  by: string | undefined;
}

export function validatePeopleDisable(input: PeopleDisableInput): {
  email: string;
  reason: string;
  actor: string;
} {
  const email = personEmailSchema.safeParse(input.email ?? "");
  if (!email.success) throw new GatehouseError("BAD_ARGUMENT", "people disable needs the person's e-mail");
  const reason = disablePersonSchema.shape.reason.safeParse(input.reason ?? "");
  if (!reason.success)
    throw new GatehouseError(
      "BAD_ARGUMENT",
      "people disable needs --reason TEXT (1-500 characters): it is audited",
    );
  return { email: email.data, reason: reason.data, actor: input.by ?? `os-user:${userInfo().username}` };
}

export function runPeopleDisable(
  people: PeopleService,
  input: PeopleDisableInput,
  out: (s: string) => void,
): number {
  const v = validatePeopleDisable(input);
  const s = people.disable(v.email, { source: "admin", actor: v.actor, reason: v.reason });
  out(`${s.email} is disabled (${JSON.stringify(v.reason)}); their tokens are refused from the next request`);
  return 0;
}
