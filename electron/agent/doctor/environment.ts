// Doctor: variables in this environment that silently win over every profile Gatehouse writes.

import { type Check, type DoctorContext, type Finding, ok, warn } from "./check.ts";

/** The variables, and why each matters. */
export const OVERRIDING = {
  AWS_ACCESS_KEY_ID: "static keys in the environment win over any profile without --profile",
  AWS_SECRET_ACCESS_KEY: "static keys in the environment win over any profile without --profile",
  AWS_SESSION_TOKEN: "a session in the environment wins over any profile without --profile",
  AWS_PROFILE: "every command without --profile uses this profile",
} as const;

export const environmentCheck: Check = {
  id: "environment",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    const set = (Object.keys(OVERRIDING) as (keyof typeof OVERRIDING)[]).filter((k) => ctx.env[k]);
    if (set.length === 0) return [ok("environment", "no AWS credential variables set in this environment")];
    return set.map((k) =>
      warn(
        `environment.${k}`,
        // The name only, never the value: it may be a secret.
        `${k} is set: ${OVERRIDING[k]}`,
        `unset ${k} (and remove it from your shell's profile) unless you mean it`,
      ),
    );
  },
};
