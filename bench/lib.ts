// The benchmark framework: timed runs of an async operation at a fixed concurrency, results kept by
// name for one process run, and ratios against a baseline measured in that same run. Absolute times
// on a shared machine mean little; a ratio to something measured a moment earlier means more.
//
// A benchmark file (bench/*.bench.ts) calls `defineBench` at import time; bench/run.ts imports them
// all and runs the ones asked for. A bench that divides by another bench's results lists it in
// `requires`, and the runner runs that one first even when it was not named on the command line.

import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// A full collection before each timed stretch, so that no case pays for the garbage of the one
// before it. `npm run bench` does not pass --expose-gc, so turn it on here and fetch `gc` from a
// fresh context (where it is defined once the flag is set).
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

export interface MeasureOptions {
  /** Operations timed, over all rounds (fewer if `maxSeconds` runs out first). */
  iterations: number;
  /** Operations in flight at once: one worker per unit of concurrency, each running ops back to back. */
  concurrency: number;
  /** Untimed operations run first at the same concurrency (JIT, connections, caches). Default: 10% of iterations, at least one per worker. */
  warmup?: number;
  /** Stop starting new timed operations after this many seconds (over all rounds). Default 8. */
  maxSeconds?: number;
  /** Name of a result to compare with: one in the same `compare` group, or one measured earlier in this run. */
  baseline?: string;
  /** Free text shown next to the name (e.g. the response size). */
  note?: string;
}

/** One thing to time in a `compare` group. */
export interface Case extends MeasureOptions {
  name: string;
  op: Op;
}

export interface Result {
  name: string;
  bench: string;
  note?: string;
  concurrency: number;
  /** Timed operations, over all rounds. */
  iterations: number;
  rounds: number;
  seconds: number;
  opsPerSec: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  baseline?: string;
  /**
   * baseline ops/s ÷ this ops/s: how many baseline operations fit in the time of one of these
   * (3 means "costs three times as much as the baseline"). With a baseline in the same group it is
   * the median of the per-round ratios, and `ratioRange` their lowest and highest.
   */
  ratio?: number;
  ratioRange?: [number, number];
}

/** One operation; `worker` is 0…concurrency-1 (so each worker can own a client), `i` counts ops. */
export type Op = (worker: number, i: number) => Promise<unknown>;

/** Percentile by nearest rank of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Run {
  done: number;
  seconds: number;
  latencies: number[];
}

/** `count` operations by `concurrency` workers, none started after `deadline` (performance.now()). */
async function timed(op: Op, count: number, concurrency: number, deadline: number): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  let failed = false;
  const worker = async (w: number) => {
    while (!failed && next < count && performance.now() < deadline) {
      const i = next++;
      const t = performance.now();
      try {
        await op(w, i);
      } catch (e) {
        failed = true; // the other workers stop after their current operation
        throw e;
      }
      latencies.push(performance.now() - t);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { done: next, seconds: (performance.now() - start) / 1000, latencies };
}

function checked(c: Case): Case {
  const { name, iterations, concurrency } = c;
  if (!(Number.isInteger(iterations) && iterations > 0)) throw new Error(`${name}: iterations must be > 0`);
  if (!(Number.isInteger(concurrency) && concurrency > 0))
    throw new Error(`${name}: concurrency must be > 0`);
  const op: Op = async (w, i) => {
    try {
      return await c.op(w, i);
    } catch (e) {
      throw new Error(`benchmark ${name}: operation ${i} (worker ${w}) failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
  };
  return { ...c, op };
}

const warmUp = (c: Case) =>
  timed(
    c.op,
    c.warmup ?? Math.max(c.concurrency, Math.ceil(c.iterations / 10)),
    c.concurrency,
    performance.now() + (c.maxSeconds ?? 8) * 1000,
  );

/** Round `i` of `rounds`: its share of the iterations (shares add up to exactly `iterations`). */
function oneRound(c: Case, i: number, rounds: number): Promise<Run> {
  collectGarbage();
  const count = Math.floor(((i + 1) * c.iterations) / rounds) - Math.floor((i * c.iterations) / rounds);
  return timed(
    c.op,
    Math.max(1, count),
    c.concurrency,
    performance.now() + ((c.maxSeconds ?? 8) * 1000) / rounds,
  );
}

const rate = (r: Run) => r.done / r.seconds;

function summarize(c: Case, runs: Run[]): Omit<Result, "bench" | "baseline" | "ratio" | "ratioRange"> {
  const done = runs.reduce((n, r) => n + r.done, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    name: c.name,
    ...(c.note !== undefined ? { note: c.note } : {}),
    concurrency: c.concurrency,
    iterations: done,
    rounds: runs.length,
    seconds,
    opsPerSec: done / seconds,
    meanMs: latencies.reduce((s, x) => s + x, 0) / latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1]!,
  };
}

/** Time one operation on its own: warm-up, then `iterations` operations; no ratio (see BenchContext). */
export async function measure(name: string, op: Op, opts: MeasureOptions) {
  const c = checked({ name, op, ...opts });
  await warmUp(c);
  return summarize(c, [await oneRound(c, 0, 1)]);
}

/** What a running bench sees: results it measures are kept for the whole run under their names. */
export class BenchContext {
  constructor(
    readonly bench: string,
    private readonly results: Map<string, Result>,
  ) {}

  /** A result measured earlier in this run (by any bench), or an error naming what exists. */
  result(name: string): Result {
    const r = this.results.get(name);
    if (!r) {
      const known = [...this.results.keys()].join(", ") || "none";
      throw new Error(`no result named "${name}" in this run (have: ${known}); list its bench in requires`);
    }
    return r;
  }

  /** Time one operation; its ratio (if `baseline` is set) is to a result measured earlier in this run. */
  async measure(name: string, op: Op, opts: MeasureOptions): Promise<Result> {
    const [r] = await this.compare([{ name, op, ...opts }], { rounds: 1 });
    return r!;
  }

  /**
   * Time several operations in interleaved rounds (each warmed up first, then round 1 of every case,
   * round 2 of every case, …), so that a slow spell of the machine hits a case and its baseline alike.
   * A ratio to a baseline in the group is the median of the per-round ratios.
   */
  async compare(cases: Case[], opts: { rounds?: number } = {}): Promise<Result[]> {
    const rounds = opts.rounds ?? 5;
    if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error("rounds must be > 0");
    const inGroup = new Set(cases.map((c) => c.name));
    for (const c of cases) {
      if (this.results.has(c.name) || cases.filter((d) => d.name === c.name).length > 1)
        throw new Error(`result "${c.name}" is measured twice`);
      if (c.baseline !== undefined && !inGroup.has(c.baseline)) this.result(c.baseline);
    }
    const ready = cases.map(checked);
    for (const c of ready) await warmUp(c);
    const runs = new Map<string, Run[]>(ready.map((c) => [c.name, []]));
    for (let i = 0; i < rounds; i++)
      for (const c of ready) runs.get(c.name)!.push(await oneRound(c, i, rounds));

    const out = ready.map((c) => {
      const own = runs.get(c.name)!;
      const m = summarize(c, own);
      if (c.baseline === undefined) return { ...m, bench: this.bench } satisfies Result;
      const baseRuns = runs.get(c.baseline);
      if (!baseRuns) {
        const base = this.result(c.baseline);
        return { ...m, bench: this.bench, baseline: base.name, ratio: base.opsPerSec / m.opsPerSec };
      }
      const perRound = own.map((r, i) => rate(baseRuns[i]!) / rate(r));
      return {
        ...m,
        bench: this.bench,
        baseline: c.baseline,
        ratio: median(perRound),
        ratioRange: [Math.min(...perRound), Math.max(...perRound)] as [number, number],
      } satisfies Result;
    });
    for (const r of out) this.results.set(r.name, r);
    return out;
  }
}

export interface Bench {
  /** Short name used on the command line. */
  name: string;
  description: string;
  /** Benches whose results this one uses as baselines; run first. */
  requires?: string[];
  run(ctx: BenchContext): Promise<void>;
}

const registry = new Map<string, Bench>();

export function defineBench(bench: Bench): Bench {
  if (registry.has(bench.name)) throw new Error(`bench "${bench.name}" is defined twice`);
  registry.set(bench.name, bench);
  return bench;
}

export function registeredBenches(): Bench[] {
  return [...registry.values()];
}

/** `names` with every bench they require, each once, requirements first. Unknown names throw. */
export function resolveOrder(names: readonly string[]): Bench[] {
  const out: Bench[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, from?: string) => {
    const b = registry.get(name);
    if (!b) {
      const where = from ? ` (required by ${from})` : "";
      throw new Error(`unknown bench "${name}"${where}; known: ${[...registry.keys()].join(", ")}`);
    }
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") throw new Error(`benches require each other in a cycle at "${name}"`);
    state.set(name, "visiting");
    for (const r of b.requires ?? []) visit(r, name);
    state.set(name, "done");
    out.push(b);
  };
  for (const n of names) visit(n);
  return out;
}

// ----- formatting

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatOps(x: number): string {
  return x >= 100 ? int.format(x) : x.toFixed(1);
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${int.format(ms)} ms`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** One sentence per result, e.g. "AssumeRole c=16: 2,345 ops/s, p50 …, p99 …, 3.1× the bare HTTP round trip". */
export function describe(r: Result, labels: { name?: string; baseline?: string } = {}): string {
  const name = labels.name ?? `${r.name}${r.note ? ` (${r.note})` : ""}`;
  const parts = [
    `${name}: ${formatOps(r.opsPerSec)} ops/s`,
    `p50 ${formatMs(r.p50Ms)}`,
    `p99 ${formatMs(r.p99Ms)}`,
  ];
  if (r.ratio !== undefined) {
    const range = r.ratioRange
      ? ` (rounds: ${r.ratioRange[0].toFixed(1)}–${r.ratioRange[1].toFixed(1)}×)`
      : "";
    parts.push(`${r.ratio.toFixed(1)}× the cost of ${labels.baseline ?? r.baseline}${range}`);
  }
  return parts.join(", ");
}

/** A plain-text table of results, columns aligned. */
export function table(results: readonly Result[]): string {
  const head = ["result", "c", "ops", "ops/s", "p50", "p99", "× baseline", "(rounds' range)", "baseline"];
  const rows = results.map((r) => [
    r.name + (r.note ? `  (${r.note})` : ""),
    String(r.concurrency),
    String(r.iterations),
    formatOps(r.opsPerSec),
    formatMs(r.p50Ms),
    formatMs(r.p99Ms),
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : "",
    r.ratioRange ? `${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)}` : "",
    r.baseline ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const right = new Set([1, 2, 3, 4, 5, 6, 7]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

// ----- the bare HTTP round trip, the floor every other figure is compared with

export interface BareServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A node:http server that reads the request body and answers every request with the same bytes,
 * written the way the emulator writes its replies (writeHead, then end(body)).
 */
export async function startBareServer(body: string | Buffer, contentType = "text/xml"): Promise<BareServer> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": contentType, "x-amzn-requestid": "bench" });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A bare keep-alive HTTP client: POSTs a fixed form body and reads the whole reply into a Buffer.
 * Each instance has its own agent, like each SDK client has its own connection pool.
 */
export function bareClient(url: string, formBody: string): { post(): Promise<Buffer>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  const target = new URL(url);
  const payload = Buffer.from(formBody);
  const post = () =>
    new Promise<Buffer>((resolve, reject) => {
      const req = request(
        {
          agent,
          method: "POST",
          hostname: target.hostname,
          port: target.port,
          path: "/",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(Buffer.concat(chunks))
              : reject(new Error(`bare HTTP status ${res.statusCode}`)),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  return { post, close: () => agent.destroy() };
}
