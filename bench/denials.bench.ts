// Parsing AWS access-denied messages: 10,000 messages of every wording in the corpus, through parseDenials,
// against one plain regular expression that only pulls principal and action out of the common form (the
// floor: what any parser must at least do). Prints p95 per message from a separate per-message timing
// pass. Goal: p95 ≤ 20 µs per message.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDenials } from "../shared/denials/parse.ts";
import { defineBench, percentile } from "./lib.ts";

const MESSAGES = 10_000;
const GOAL_US = 20;
const BASELINE = /User: (\S+) is not authorized to perform: (\S+)/;

function messages(): string[] {
  const corpus = JSON.parse(
    readFileSync(join(import.meta.dirname, "../test/data/denials/corpus.json"), "utf8"),
  ) as { cases: { text: string }[] };
  const texts = corpus.cases.map((c) => c.text).filter((t) => t.length > 0);
  // Each message different (account ids vary), so that nothing is served from a cache of equal strings.
  return Array.from({ length: MESSAGES }, (_, i) =>
    texts[i % texts.length]!.replace(/\d{12}/g, String(100_000_000_000 + i)),
  );
}

defineBench({
  name: "denials",
  description: `parsing ${MESSAGES.toLocaleString("en")} AWS access-denied messages vs. one plain regex match each`,
  async run(ctx) {
    const all = messages();
    let sink = 0;
    const [, parsed] = await ctx.compare(
      [
        {
          name: "regex.match",
          note: `${MESSAGES} messages, one RegExp.exec each`,
          iterations: 30,
          concurrency: 1,
          op: async () => {
            for (const m of all) sink += BASELINE.exec(m) ? 1 : 0;
          },
        },
        {
          name: "denials.parse",
          note: `${MESSAGES} messages, parseDenials each`,
          iterations: 30,
          concurrency: 1,
          baseline: "regex.match",
          op: async () => {
            for (const m of all) sink += parseDenials(m).length;
          },
        },
      ],
      { rounds: 3 },
    );
    // Per message: each timed alone (hrtime), after the rounds above warmed the code up.
    const perMessage: number[] = [];
    for (let round = 0; round < 3; round++)
      for (const m of all) {
        const t = process.hrtime.bigint();
        sink += parseDenials(m).length;
        perMessage.push(Number(process.hrtime.bigint() - t) / 1000);
      }
    perMessage.sort((a, b) => a - b);
    const p95 = percentile(perMessage, 95);
    console.log(
      `  per message: p50 ${percentile(perMessage, 50).toFixed(2)} µs, p95 ${p95.toFixed(2)} µs, p99 ${percentile(perMessage, 99).toFixed(2)} µs ` +
        `(goal p95 ≤ ${GOAL_US} µs: ${p95 <= GOAL_US ? "met" : "NOT met"}); ` +
        `${(((parsed?.meanMs ?? 0) * 1000) / MESSAGES).toFixed(2)} µs mean in batches`,
    );
    if (sink === 0) throw new Error("no message parsed");
  },
});
