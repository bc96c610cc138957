// Prometheus metrics of the broker: requests, latencies, STS calls, sync durations and errors.

import { Counter, Histogram, Registry } from "prom-client";

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
  const directory = new Counter({
    name: "gatehouse_directory_answers_total",
    help: "Groups answered by the group directory: cached, looked_up, stale (directory failing) or failed",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  return { registry, requests, latency, stsCalls, syncDuration, syncErrors, directory };
}

export type Metrics = ReturnType<typeof createMetrics>;
