// The demo people of the development IdP: a stable subject, an e-mail and the groups the broker maps to roles.

export interface DemoUser {
  /** Stable subject identifier (`sub`), never reused and independent of the e-mail. */
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
}

export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  { sub: "demo-user-0001", email: "alice@example.com", name: "Alice Example", groups: ["engineers", "data"] },
  {
    sub: "demo-user-0002",
    email: "bob@example.com",
    name: "Bob Example",
    groups: ["platform-admins", "approvers"],
  },
  { sub: "demo-user-0003", email: "carol@example.com", name: "Carol Example", groups: [] },
  {
    sub: "demo-user-0004",
    email: "dave@example.com",
    name: "Dave Example",
    groups: ["engineers", "approvers"],
  },
]);

/** Looks a person up by the e-mail typed at the login form (case and surrounding spaces ignored). */
export function findUserByEmail(email: string): DemoUser | undefined {
  const wanted = email.trim().toLowerCase();
  return DEMO_USERS.find((u) => u.email === wanted);
}

export function findUserBySub(sub: string): DemoUser | undefined {
  return DEMO_USERS.find((u) => u.sub === sub);
}
