// `npm run bench [-- NAME…]`: imports every bench/*.bench.ts, runs the named benches (all by default)
// with the benches they require, prints a table, and ends with one JSON line holding every result.
// Figures are ratios to baselines measured in the same run; absolute numbers are for context only.

import { readdirSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BenchContext, type Result, registeredBenches, resolveOrder, table } from "./lib.ts";

// The SDK warns once that later versions will need Node 22; it says nothing about the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const USAGE = `usage: npm run bench [-- [--list] [BENCH…]]
  BENCH    run only these benches (and the benches they require); default: all
  --list   list the benches and exit`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const unknownFlag = argv.find((a) => a.startsWith("-") && a !== "--list");
  if (unknownFlag) {
    console.error(`unknown option ${unknownFlag}\n${USAGE}`);
    return 2;
  }

  const here = dirname(fileURLToPath(import.meta.url));
  for (const file of readdirSync(here)
    .filter((f) => f.endsWith(".bench.ts"))
    .sort()) {
    await import(pathToFileURL(join(here, file)).href);
  }

  if (argv.includes("--list")) {
    for (const b of registeredBenches()) {
      const req = b.requires?.length ? ` (requires ${b.requires.join(", ")})` : "";
      console.log(`${b.name.padEnd(16)} ${b.description}${req}`);
    }
    return 0;
  }

  const names = argv.length > 0 ? argv : registeredBenches().map((b) => b.name);
  let order: ReturnType<typeof resolveOrder>;
  try {
    order = resolveOrder(names);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }

  const cpu = cpus();
  console.log(
    `gatehouse bench: ${order.map((b) => b.name).join(", ")} — node ${process.version}, ` +
      `${cpu.length} × ${cpu[0]?.model.trim() ?? "cpu"}`,
  );
  console.log("figures that matter are the ratios; absolute rates depend on the machine and its load\n");

  const results = new Map<string, Result>();
  const failures: { bench: string; error: string }[] = [];
  const started = performance.now();
  for (const bench of order) {
    const t0 = performance.now();
    console.log(`▶ ${bench.name}: ${bench.description}`);
    try {
      await bench.run(new BenchContext(bench.name, results));
      console.log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      failures.push({ bench: bench.name, error: e instanceof Error ? e.message : String(e) });
      console.error(`  FAILED: ${error}\n`);
    }
  }

  const all = [...results.values()];
  if (all.length > 0) {
    console.log(table(all));
    console.log(
      "\n× baseline = baseline ops/s ÷ this ops/s: the cost of one operation in baseline operations " +
        "(same concurrency, same run; median of interleaved rounds, with their range).",
    );
  }
  for (const f of failures) console.log(`FAILED ${f.bench}: ${f.error}`);

  const round = (x: number) => Number(x.toPrecision(4));
  console.log(
    JSON.stringify({
      gatehouseBench: 1,
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpu.length,
      seconds: round((performance.now() - started) / 1000),
      benches: order.map((b) => b.name),
      failures,
      results: all.map((r) => ({
        ...r,
        seconds: round(r.seconds),
        opsPerSec: round(r.opsPerSec),
        meanMs: round(r.meanMs),
        p50Ms: round(r.p50Ms),
        p99Ms: round(r.p99Ms),
        maxMs: round(r.maxMs),
        ...(r.ratio !== undefined ? { ratio: round(r.ratio) } : {}),
        ...(r.ratioRange ? { ratioRange: r.ratioRange.map(round) } : {}),
      })),
    }),
  );
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
