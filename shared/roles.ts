// How people name a role: `account-name/role-name`, `account-id/role-name`, or the role's ARN.

export type RoleRef = { kind: "arn"; arn: string } | { kind: "name"; account: string; role: string };

const ARN_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\u0021-\u007E]*\/)?[\w+=,.@-]{1,64}$/;
const NAME_RE = /^([A-Za-z0-9][\w .-]{0,63})\/([\w+=,.@-]{1,64})$/;

/** Parse a role reference; undefined when it has none of the three forms. */
export function parseRoleRef(input: string): RoleRef | undefined {
  const s = input.trim();
  if (s.startsWith("arn:")) return ARN_RE.test(s) ? { kind: "arn", arn: s } : undefined;
  const m = NAME_RE.exec(s);
  return m ? { kind: "name", account: m[1]!, role: m[2]! } : undefined;
}

/** The reference Gatehouse shows and writes into profiles: `account-name/role-name`. */
export function roleRefString(accountName: string, roleName: string): string {
  return `${accountName}/${roleName}`;
}
