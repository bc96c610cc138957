// A recording as a person reads it in a terminal: the calls allowed, the calls denied with AWS's messages,
// and the least-privilege policy. Every string that came from AWS or the command is escaped to one line.

import type { RecordedCall, Recording } from "../../../shared/recording.ts";
import { visible } from "../../../shared/visible-text.ts";

/** One line of text from AWS or the command: control characters and newlines escaped (SECURITY 34). */
const v = (text: string): string => visible(text);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Identical calls once, with a count: a loop of 500 ListUsers is one line. */
function grouped(calls: readonly RecordedCall[]): { call: RecordedCall; count: number }[] {
  const out = new Map<string, { call: RecordedCall; count: number }>();
  for (const c of calls) {
    const key = JSON.stringify([c.service, c.api, c.status, c.errorCode, c.errorMessage, c.resources]);
    const hit = out.get(key);
    if (hit) hit.count++;
    else out.set(key, { call: c, count: 1 });
  }
  return [...out.values()];
}

function actionsCell(c: RecordedCall): string {
  return `${v(c.actions.join(", "))}${c.mapping === "guess" ? " (guess)" : ""}`;
}

export function formatRecording(r: Recording): string {
  const allowed = r.calls.filter((c) => c.outcome === "allowed");
  const denied = r.calls.filter((c) => c.outcome === "denied");
  const failed = r.calls.filter((c) => c.outcome === "error");
  const parts: string[] = [
    `Recorded ${r.calls.length} AWS call${r.calls.length === 1 ? "" : "s"} as ${v(r.role)}: ${allowed.length} allowed, ${denied.length} denied, ${failed.length} failed otherwise${r.ignored ? ` (${r.ignored} unreadable, ignored)` : ""}`,
  ];
  if (allowed.length) {
    parts.push(
      "",
      "Allowed",
      table([
        ["CALL", "ACTIONS", "COUNT"],
        ...grouped(allowed).map(({ call, count }) => [
          v(`${call.service}:${call.api}`),
          actionsCell(call),
          String(count),
        ]),
      ]),
    );
  }
  if (denied.length) {
    parts.push(
      "",
      "Denied",
      table([
        ["CALL", "ACTIONS", "COUNT"],
        ...grouped(denied).map(({ call, count }) => [
          v(`${call.service}:${call.api}`),
          actionsCell(call),
          String(count),
        ]),
      ]),
    );
    for (const { call } of grouped(denied))
      parts.push(
        `  ${v(call.api)}: ${v(call.errorCode ?? "denied")}: ${v(call.errorMessage ?? "(no message)")}`,
      );
  }
  if (failed.length) {
    parts.push(
      "",
      "Failed (not a permission problem)",
      table([
        ["CALL", "ERROR", "COUNT"],
        ...grouped(failed).map(({ call, count }) => [
          v(`${call.service}:${call.api}`),
          v(call.errorCode ?? `HTTP ${call.status ?? "none"}`),
          String(count),
        ]),
      ]),
    );
  }
  if (r.guessed.length)
    parts.push("", `Guessed from the service prefix (check them): ${v(r.guessed.join(", "))}`);
  if (r.calls.length)
    parts.push("", "Least-privilege policy for every call:", JSON.stringify(r.policy, null, 2));
  return `${parts.join("\n")}\n`;
}

/** Every denied call's message, once each: the text `request from-error` (and the tray's "Request what was denied") parses. */
export function deniedText(r: Recording): string {
  return [...new Set(r.calls.filter((c) => c.outcome === "denied").map((c) => c.errorMessage ?? ""))]
    .filter((m) => m.trim() !== "")
    .join("\n");
}
