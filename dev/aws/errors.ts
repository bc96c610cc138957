// AWS-shaped errors of the emulator: the codes, HTTP statuses and messages that the real services send.

export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: "Sender" | "Receiver";
  constructor(code: string, status: number, message: string, type: "Sender" | "Receiver" = "Sender") {
    super(message);
    this.name = "AwsError";
    this.code = code;
    this.status = status;
    this.type = type;
  }
}

export const validation = (message: string) => new AwsError("ValidationError", 400, message);

/** The message AWS writes for a parameter that fails a constraint ("1 validation error detected: …"). */
export function constraint(field: string, value: string, rule: string): AwsError {
  const shown = value.length > 128 ? `${value.slice(0, 128)}…` : value;
  return validation(
    `1 validation error detected: Value '${shown}' at '${field}' failed to satisfy constraint: ${rule}`,
  );
}

export const noSuchEntity = (message: string) => new AwsError("NoSuchEntity", 404, message);
export const malformedPolicy = (message: string) => new AwsError("MalformedPolicyDocument", 400, message);
export const limitExceeded = (message: string) => new AwsError("LimitExceeded", 409, message);
export const accessDenied = (message: string) => new AwsError("AccessDenied", 403, message);

/** Check a parameter's length and pattern as AWS does, with AWS's message; returns the value. */
export function checkField(field: string, value: string, min: number, max: number, re: RegExp): string {
  if (value.length < min)
    throw constraint(field, value, `Member must have length greater than or equal to ${min}`);
  if (value.length > max)
    throw constraint(field, value, `Member must have length less than or equal to ${max}`);
  if (!re.test(value)) {
    throw constraint(
      field,
      value,
      `Member must satisfy regular expression pattern: ${re.source.slice(1, -1)}`,
    );
  }
  return value;
}
