// IAM policy documents in the emulator: the shared evaluator (shared/policy/evaluate.ts), with grammar
// errors turned into AWS's MalformedPolicyDocument.

import {
  MalformedPolicyError,
  type Policy,
  parsePolicy as parseShared,
} from "../../shared/policy/evaluate.ts";
import { malformedPolicy } from "./errors.ts";

export {
  type Context,
  type ContextValue,
  conditionsMatch,
  type Decision,
  evaluate,
  evaluateTrust,
  type Policy,
  type PrincipalIdentity,
  policySize,
  type Request,
  type Statement,
  wildcardMatch,
} from "../../shared/policy/evaluate.ts";

export function parsePolicy(text: string, kind: "identity" | "trust" | "session"): Policy {
  try {
    return parseShared(text, kind);
  } catch (e) {
    if (e instanceof MalformedPolicyError) throw malformedPolicy(e.message);
    throw e;
  }
}
