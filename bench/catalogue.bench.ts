// The AWS-managed policy catalogue: a warm search by service and by name (risk and ranking
// included) against the floor, one lower-case substring pass over every policy's name. Prints p95
// per search from a separate per-search timing pass. Goal: p95 < 20 ms.

import { ManagedCatalogue, managedIndex } from "../shared/policy/managed-catalogue.ts";
import { defineBench, percentile } from "./lib.ts";

const GOAL_MS = 20;
const QUERIES = [
  { service: "kafka" },
  { q: "MSK" },
  { service: "ec2" },
  { service: "s3" },
  { q: "lambda" },
  { q: "readonly" },
];

defineBench({
  name: "catalogue",
  description: "searching the AWS-managed policies by service and name vs. a plain name substring pass",
  async run(ctx) {
    const catalogue = new ManagedCatalogue();
    const ix = await managedIndex();
    const names = ix.policies.map((p) => p.name.toLowerCase());
    // Every risk the queries need, computed once: the figures are for the warm search.
    for (const q of QUERIES) await catalogue.policies(q);
    let sink = 0;
    await ctx.compare(
      [
        {
          name: "names.includes",
          note: `${names.length} names, ${QUERIES.length} substrings`,
          iterations: 300,
          concurrency: 1,
          op: async () => {
            for (const q of QUERIES) {
              const s = (q.q ?? q.service).toLowerCase();
              for (const n of names) if (n.includes(s)) sink++;
            }
          },
        },
        {
          name: "catalogue.search",
          note: `${QUERIES.length} searches (policies + services)`,
          iterations: 300,
          concurrency: 1,
          baseline: "names.includes",
          op: async () => {
            for (const q of QUERIES) {
              sink += (await catalogue.policies(q)).length;
              sink += (await catalogue.services(q.q ?? q.service ?? "")).length;
            }
          },
        },
      ],
      { rounds: 3 },
    );
    const per: number[] = [];
    for (let round = 0; round < 30; round++)
      for (const q of QUERIES) {
        const t = performance.now();
        sink += (await catalogue.policies(q)).length;
        per.push(performance.now() - t);
      }
    per.sort((a, b) => a - b);
    const p95 = percentile(per, 95);
    console.log(
      `  per search: p50 ${percentile(per, 50).toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${per.at(-1)!.toFixed(2)} ms ` +
        `(goal p95 < ${GOAL_MS} ms: ${p95 < GOAL_MS ? "met" : "NOT met"})`,
    );
    if (sink === 0) throw new Error("no search found anything");
  },
});
