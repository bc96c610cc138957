// A person's enabled/disabled state: set by SCIM (`active: false`, DELETE), by an admin (route or
// `gatehouse-broker people disable`), read on every authenticated request. Disabling cancels the person's
// open requests, is audited, and tells the `onDisabled` listeners (the kill switch hangs off it).

import { GatehouseError } from "../../shared/errors.ts";
import type { PersonStateView } from "../../shared/scim.ts";
import type { AuditInput } from "../store.ts";
import type { PeopleStore } from "./store.ts";

export type DisabledListener = (email: string, at: Date, reason: string) => void | Promise<void>;

export interface PeopleServiceDeps {
  store: PeopleStore;
  audit(entry: AuditInput): void;
  /** Cancel the person's open requests; returns their ids (absent in commands that run without a broker). */
  cancelRequests?(email: string, actor: string, reason: string): string[];
  log?: { error(o: object, msg: string): void };
}

export type DisableSource = "scim" | "admin";

export class PeopleService {
  private readonly listeners: DisabledListener[] = [];
  private readonly enabledListeners: ((email: string, actor: string) => void | Promise<void>)[] = [];

  constructor(private readonly d: PeopleServiceDeps) {}

  /** Called once per transition from enabled to disabled, after it is stored and audited. */
  onDisabled(fn: DisabledListener): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Called when a disabled person becomes enabled again (the kill switch lifts their revocation). */
  onEnabled(fn: (email: string, actor: string) => void | Promise<void>): void {
    this.enabledListeners.push(fn);
  }

  isDisabled(email: string): boolean {
    return this.d.store.isDisabled(email);
  }

  /** Refuse a disabled person (401 PERSON_DISABLED), however valid their token. */
  assertEnabled(email: string): void {
    if (this.d.store.isDisabled(email))
      throw new GatehouseError(
        "PERSON_DISABLED",
        `${email} is disabled in Gatehouse; an administrator can enable them (gatehouse-broker people enable)`,
      );
  }

  state(email: string): PersonStateView {
    const key = email.toLowerCase();
    return (
      this.d.store.state(key) ?? {
        email: key,
        disabled: false,
        scimDisabled: false,
        adminDisabled: false,
        reason: null,
        actor: null,
        changedAt: new Date(0).toISOString(),
      }
    );
  }

  /** Finish SCIM deactivations whose person state a stop cut off (the user row is written first). */
  reconcile(): number {
    const missed = this.d.store.inactiveNotDisabled();
    for (const email of missed)
      this.disable(email, {
        source: "scim",
        actor: "scim",
        reason: "deactivated by the IdP (SCIM active: false)",
      });
    return missed.length;
  }

  disabledPeople(): PersonStateView[] {
    return this.d.store.disabledPeople();
  }

  disable(
    email: string,
    o: { source: DisableSource; actor: string; reason: string },
    now = new Date(),
  ): PersonStateView {
    const key = email.toLowerCase();
    const { before, after } = this.d.store.setState(
      key,
      { ...(o.source === "scim" ? { scim: true } : { admin: true }), reason: o.reason, actor: o.actor },
      now,
    );
    const wasDisabled = before?.disabled ?? false;
    this.d.audit({
      actor: o.actor,
      action: "person.disable",
      target: key,
      outcome: "ok",
      detail: { source: o.source, reason: o.reason, alreadyDisabled: wasDisabled },
    });
    // Cancelled on every disable, not only the first: a request may have been filed just before.
    const cancelled = this.d.cancelRequests?.(key, o.actor, `requester disabled: ${o.reason}`) ?? [];
    if (cancelled.length)
      this.d.audit({
        actor: o.actor,
        action: "person.requests-cancelled",
        target: key,
        outcome: "ok",
        detail: { requests: cancelled },
      });
    if (!wasDisabled)
      for (const fn of this.listeners) {
        try {
          Promise.resolve(fn(key, now, o.reason)).catch((e: unknown) =>
            this.d.log?.error({ err: (e as Error).message, email: key }, "an onDisabled listener failed"),
          );
        } catch (e) {
          this.d.log?.error({ err: (e as Error).message, email: key }, "an onDisabled listener failed");
        }
      }
    return after;
  }

  /**
   * SCIM `active: true` clears only what SCIM set (an admin's disable of someone under investigation
   * outlives an IdP re-sync); an admin's enable clears both.
   */
  enable(
    email: string,
    o: { source: DisableSource; actor: string; reason?: string },
    now = new Date(),
  ): PersonStateView {
    const key = email.toLowerCase();
    const { before, after } = this.d.store.setState(
      key,
      {
        scim: false,
        ...(o.source === "admin" ? { admin: false } : {}),
        reason: o.reason ?? null,
        actor: o.actor,
      },
      now,
    );
    this.d.audit({
      actor: o.actor,
      action: "person.enable",
      target: key,
      outcome: "ok",
      detail: {
        source: o.source,
        wasDisabled: before?.disabled ?? false,
        stillDisabled: after.disabled,
        ...(o.reason ? { reason: o.reason } : {}),
      },
    });
    if (before?.disabled && !after.disabled)
      for (const fn of this.enabledListeners) {
        try {
          Promise.resolve(fn(key, o.actor)).catch((e: unknown) =>
            this.d.log?.error({ err: (e as Error).message, email: key }, "an onEnabled listener failed"),
          );
        } catch (e) {
          this.d.log?.error({ err: (e as Error).message, email: key }, "an onEnabled listener failed");
        }
      }
    return after;
  }
}
