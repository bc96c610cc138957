// The shape every emulated API action has: parameters and caller in, an XML-able result out.

import type { World } from "./model.ts";
import type { Params, XmlValue } from "./query.ts";
import type { Caller } from "./sigv4.ts";

export interface CallContext {
  params: Params;
  caller: Caller;
  world: World;
  now: number;
  /** Set by a handler that changed IAM, so the server persists the state file. */
  mutated: boolean;
}

export type Handler = (ctx: CallContext) => XmlValue;
