// The one error table every part of Gatehouse speaks: a stable code, its HTTP status and a line people read.

export const ERRORS = {
  BAD_ARGUMENT: { status: 400, title: "A command-line argument or option is invalid." },
  BAD_FIXTURE: { status: 400, title: "The fixture file is invalid." },
  BAD_STATE_FILE: { status: 400, title: "The state file cannot be read." },
  ADDRESS_IN_USE: { status: 409, title: "The address is already in use." },
  CONFIG_INVALID: { status: 500, title: "The configuration file is invalid." },
  UNAUTHENTICATED: { status: 401, title: "A valid access token is required." },
  FORBIDDEN: { status: 403, title: "You may not do this." },
  REVOCATION_NOT_FOUND: {
    status: 404,
    title: "This person has no revocation of their AWS sessions to lift.",
  },
  ROLE_NOT_FOUND: { status: 404, title: "No such role, or you may not use it." },
  CONSOLE_NOT_ALLOWED: { status: 403, title: "This role is for the CLI only; it has no console access." },
  BAD_REQUEST: { status: 400, title: "The request is invalid." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "The request body must be application/json." },
  PAYLOAD_TOO_LARGE: { status: 413, title: "The request body is too large." },
  NOT_FOUND: { status: 404, title: "No such route." },
  CLIENT_CONFIG_UNAVAILABLE: {
    status: 404,
    title: "This broker publishes no sign-in settings (its oidc.client_id is not set).",
  },
  AWS_DENIED: { status: 502, title: "AWS refused the request." },
  AWS_UNAVAILABLE: { status: 503, title: "AWS could not be reached or kept failing." },
  SYNC_IN_PROGRESS: { status: 409, title: "A sync is already running." },
  NOT_READY: { status: 503, title: "The broker has not finished its first sync." },
  IDP_UNAVAILABLE: { status: 503, title: "The identity provider could not be reached." },
  DIRECTORY_CREDENTIALS_REJECTED: {
    status: 502,
    title: "The group directory refused the broker's credentials; an administrator must fix them.",
  },
  DIRECTORY_FORBIDDEN: {
    status: 502,
    title: "The group directory refused the broker's request (permission, scope or edition missing).",
  },
  DIRECTORY_USER_UNKNOWN: { status: 403, title: "The group directory does not know this person." },
  DIRECTORY_TOO_MANY_GROUPS: {
    status: 502,
    title: "The person is in more groups than the broker is configured to read from the directory.",
  },
  AUDIT_BROKEN: { status: 500, title: "The audit chain does not verify." },
  AUDIT_TAMPERED: {
    status: 503,
    title: "The audit log failed its integrity check; the broker refuses changes until it is investigated.",
  },
  AUDIT_KEY_UNSAFE: {
    status: 500,
    title: "The audit signing key file is readable by others or lies in the database's folder.",
  },
  AUDIT_KEY_INVALID: { status: 500, title: "The audit signing key or public key cannot be used." },
  CHECKPOINTS_UNAVAILABLE: { status: 503, title: "The audit checkpoints cannot be read." },
  STORE_UNAVAILABLE: {
    status: 503,
    title:
      "The broker's database cannot be reached or written (down, disk full or I/O error); try again later.",
  },
  STORE_TOO_NEW: {
    status: 500,
    title: "The database's schema is newer than this broker: run the newer broker or restore a backup.",
  },
  POSTGRES_NOT_INSTALLED: {
    status: 500,
    title: 'PostgreSQL server binaries are missing: install the Debian package "postgresql".',
  },
  POSTGRES_FAILED: {
    status: 500,
    title: "The private PostgreSQL cluster could not be set up, started or stopped.",
  },
  AUDIT_UNAVAILABLE: {
    status: 503,
    title: "The audit log cannot be written (database or disk full); nothing is handed out unaudited.",
  },
  NOT_SIGNED_IN: { status: 401, title: "Not signed in: run gatehouse login." },
  SIGNIN_FAILED: { status: 401, title: "Sign-in did not complete." },
  SIGNIN_TIMEOUT: { status: 408, title: "Sign-in timed out: nobody finished it in the browser." },
  NO_KEYCHAIN: { status: 500, title: "No OS keychain is available to keep the sign-in." },
  TOKEN_FILE_UNSAFE: { status: 500, title: "The token file is not private; Gatehouse will not use it." },
  FILE_UNSAFE: {
    status: 500,
    title: "A file or folder the broker writes is open to other users; the broker will not use it.",
  },
  BROKER_UNREACHABLE: { status: 503, title: "The Gatehouse broker cannot be reached." },
  NO_BROKER_READY: { status: 503, title: "No broker behind the load balancer is ready; try again shortly." },
  BROKER_REPLICA_FAILED: { status: 502, title: "The broker replica failed before it answered." },
  AGENT_RUNNING: { status: 409, title: "A Gatehouse agent is already running." },
  AGENT_UNREACHABLE: { status: 503, title: "The Gatehouse agent is not running or does not answer." },
  SETTINGS_INVALID: { status: 500, title: "The Gatehouse settings file is invalid." },
  FORBIDDEN_ORIGIN: { status: 403, title: "Requests from web pages are refused." },
  METHOD_NOT_ALLOWED: { status: 405, title: "This method is not allowed here." },
  CLI_INSTALL_FAILED: {
    status: 500,
    title: "The gatehouse command could not be put on (or taken off) PATH.",
  },
  CONFIG_CONFLICT: { status: 409, title: "The AWS config file clashes with Gatehouse's managed profiles." },
  REQUEST_NOT_FOUND: { status: 404, title: "No such request, or you may not see it." },
  ILLEGAL_TRANSITION: { status: 409, title: "The request is not in a state that allows this." },
  SELF_APPROVAL: { status: 403, title: "You may not approve your own request." },
  ALREADY_APPROVED: { status: 409, title: "You have already approved this; another approver is needed." },
  NOT_AN_APPROVER: { status: 403, title: "You are not an approver of this request." },
  TAG_CHANGE_NOT_FOUND: { status: 404, title: "No such access-tag change." },
  TAG_CHANGE_NOT_HELD: { status: 409, title: "This access-tag change is not held (superseded or decided)." },
  POLICY_REFUSED: { status: 422, title: "The policy is refused: it is invalid, too large or too dangerous." },
  POLICY_NOT_FOUND: { status: 404, title: "No such managed policy in the target's account or among AWS's." },
  GROUP_NOT_FOUND: { status: 404, title: "No such IAM group in the target's account." },
  QUOTA_EXCEEDED: { status: 422, title: "IAM's quota for this would be exceeded; nothing was changed." },
  NO_DENIAL: { status: 422, title: "The text holds no AWS access-denied message that names an action." },
  DENIAL_NOT_REQUESTABLE: {
    status: 422,
    title: "AWS denied it for a reason a request cannot fix (an explicit deny, or another policy type).",
  },
  DENIAL_TARGET_UNKNOWN: {
    status: 404,
    title: "The denied principal is not a role or user Gatehouse manages.",
  },
  DENIAL_MIXED_PRINCIPALS: {
    status: 422,
    title: "The denials name more than one role or user; paste the errors of one at a time.",
  },
  DENIAL_UNDECODABLE: {
    status: 422,
    title:
      "AWS would not decode this authorization message: forged, altered, expired or from an unmanaged account.",
  },
  PERSON_DISABLED: {
    status: 401,
    title:
      "This person is disabled in Gatehouse (offboarded or suspended); an administrator can enable them.",
  },
  PERSON_NOT_FOUND: { status: 404, title: "The broker knows no such person." },
  SCIM_UNAUTHORIZED: { status: 401, title: "A valid SCIM bearer token is required." },
  SCIM_INVALID_FILTER: {
    status: 400,
    title: "The SCIM filter is malformed or uses what this broker does not support.",
  },
  SCIM_INVALID_PATH: { status: 400, title: "The SCIM PATCH path names no attribute this broker supports." },
  SCIM_INVALID_VALUE: { status: 400, title: "A SCIM attribute value is missing or of the wrong kind." },
  SCIM_INVALID_SYNTAX: { status: 400, title: "The SCIM request body is not a valid SCIM message." },
  SCIM_CONFLICT: {
    status: 409,
    title: "A SCIM user with this userName or group with this displayName already exists.",
  },
  SCIM_NOT_FOUND: { status: 404, title: "No such SCIM resource." },
  INTERNAL: { status: 500, title: "An unexpected internal error happened." },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].title, options);
    this.name = "GatehouseError";
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

export function isGatehouseError(e: unknown): e is GatehouseError {
  return e instanceof GatehouseError;
}
