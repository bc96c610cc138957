// `gatehouse-broker people enable EMAIL --config FILE [--by NAME]`: let a disabled person sign in again
// (clears an admin's and SCIM's disable alike); audited. New sessions work from their next request.

import { userInfo } from "node:os";
import { GatehouseError } from "../../shared/errors.ts";
import { personEmailSchema } from "../../shared/scim.ts";
import type { PeopleService } from "../people/service.ts";

export interface PeopleEnableInput {
  email: string | undefined;
  by: string | undefined;
}

export function runPeopleEnable(
  people: PeopleService,
  input: PeopleEnableInput,
  out: (s: string) => void,
): number {
  const email = personEmailSchema.safeParse(input.email ?? "");
  if (!email.success) throw new GatehouseError("BAD_ARGUMENT", "people enable needs the person's e-mail");
  const before = people.state(email.data);
  const s = people.enable(email.data, {
    source: "admin",
    actor: input.by ?? `os-user:${userInfo().username}`,
  });
  out(before.disabled ? `${s.email} is enabled again` : `${s.email} was not disabled; nothing changed`);
  return 0;
}
