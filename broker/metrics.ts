// Prometheus metrics of the broker: requests, latencies, STS calls, sync durations and errors, and the
// tag watch's incidents and changes (SECURITY 32), and the audit log's integrity (checks and checkpoints).

import { Counter, Gauge, Histogram, Registry } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  const requests = new Counter({
    name: "gatehouse_http_requests_total",
    help: "HTTP requests served, by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "gatehouse_http_request_duration_seconds",
    help: "HTTP request latency by route",
    labelNames: ["route", "method"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const stsCalls = new Counter({
    name: "gatehouse_sts_calls_total",
    help: "STS AssumeRole calls by purpose and outcome",
    labelNames: ["kind", "outcome"] as const,
    registers: [registry],
  });
  const syncDuration = new Histogram({
    name: "gatehouse_sync_duration_seconds",
    help: "Duration of one account's sync",
    labelNames: ["account"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const syncErrors = new Counter({
    name: "gatehouse_sync_errors_total",
    help: "Failed account syncs",
    labelNames: ["account"] as const,
    registers: [registry],
  });
  const ownRoleIncidents = new Counter({
    name: "gatehouse_own_role_tag_incidents_total",
    help: "Gatehouse access tags found (new or changed) on Gatehouse's own central or spoke roles",
    labelNames: ["account"] as const,
    registers: [registry],
  });
  const ownRolesTagged = new Gauge({
    name: "gatehouse_own_roles_tagged",
    help: "Gatehouse's own roles carrying access tags at the last sync (never served; should be 0)",
    labelNames: ["account"] as const,
    registers: [registry],
  });
  const tagChanges = new Counter({
    name: "gatehouse_access_tag_changes_total",
    help: "Access-tag changes made outside Gatehouse, by mode and whether they were held",
    labelNames: ["mode", "state"] as const,
    registers: [registry],
  });
  const tagChangesHeld = new Gauge({
    name: "gatehouse_access_tag_changes_held",
    help: "Roles whose access-tag change waits for an admin (access.external_tag_changes: hold)",
    registers: [registry],
  });
  const auditIntegrity = new Gauge({
    name: "gatehouse_audit_integrity",
    help: "1 while the audit chain verifies against its last checkpoint, 0 after an integrity failure",
    registers: [registry],
  });
  auditIntegrity.set(1);
  const auditChecks = new Counter({
    name: "gatehouse_audit_verifications_total",
    help: "Integrity checks of the audit chain (at start, on a schedule), by outcome",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const auditCheckpoints = new Counter({
    name: "gatehouse_audit_checkpoints_total",
    help: "Signed audit checkpoints per sink: written, failed (kept to retry) or dropped",
    labelNames: ["sink", "outcome"] as const,
    registers: [registry],
  });
  const auditCheckpointNumber = new Gauge({
    name: "gatehouse_audit_checkpoint_number",
    help: "Number of the last signed audit checkpoint",
    registers: [registry],
  });
  const directory = new Counter({
    name: "gatehouse_directory_answers_total",
    help: "Groups answered by the group directory: cached, looked_up, stale (directory failing) or failed",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const killSwitchWrites = new Counter({
    name: "gatehouse_killswitch_policy_writes_total",
    help: "Deny-policy writes and deletes of the kill switch, by outcome (errors are retried).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const killSwitchRoles = new Gauge({
    name: "gatehouse_killswitch_role_items",
    help: "Per-role deny statements of revoked people, by state (failed: not written yet, being retried).",
    labelNames: ["state"] as const,
    registers: [registry],
  });
  return {
    registry,
    requests,
    latency,
    stsCalls,
    syncDuration,
    syncErrors,
    ownRoleIncidents,
    ownRolesTagged,
    tagChanges,
    tagChangesHeld,
    auditIntegrity,
    auditChecks,
    auditCheckpoints,
    auditCheckpointNumber,
    directory,
    killSwitchWrites,
    killSwitchRoles,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
