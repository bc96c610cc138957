// The one error table every part of Gatehouse speaks: a stable code, its HTTP status and a line people read.

export const ERRORS = {
  BAD_ARGUMENT: { status: 400, title: "A command-line argument or option is invalid." },
  BAD_FIXTURE: { status: 400, title: "The fixture file is invalid." },
  BAD_STATE_FILE: { status: 400, title: "The state file cannot be read." },
  ADDRESS_IN_USE: { status: 409, title: "The address is already in use." },
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
