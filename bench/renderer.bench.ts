// The tray app's renderer with 10,000 roles, in Chromium (Debian's, else Playwright's): the production build
// served over loopback, window.gatehouse a fake in the page that returns 10,000 generated roles (a rendering
// benchmark: no agent, no broker). Measured inside the page, not over CDP:
//   1. first render: from roles() resolving to the frame painted with the first rows, against the same app
//      with 3 roles and against a plain <ul> that builds 10,000 <li> from the same data;
//   2. per keystroke in the search box: from the keydown event to the end of the next frame (a
//      requestAnimationFrame, then a message posted from it, which runs once that frame's style, layout and
//      paint are done), against an empty page's input (the floor: input routing plus one frame) and against
//      the same filtering done naively on a plain <ul> of 10,000 items.
// Chromium runs with vsync and the frame-rate limit off, so a frame starts as soon as there is work instead of
// waiting up to 16.7 ms for the display: what is measured is the app's work. Goal: keystroke p95 ≤ 16 ms.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { type Browser, type BrowserContext, chromium, type Page } from "@playwright/test";
import { chromiumLaunchOptions } from "../test/support/chromium.ts";
import { type StaticServer, startStaticServer } from "../test/support/static-server.ts";
import { type BenchContext, type Case, defineBench, formatMs, percentile } from "./lib.ts";

const ROOT = resolve(import.meta.dirname, "..");
const DIST = join(ROOT, "dist/renderer");
const ROLES = 10_000;
const KEYSTROKE_GOAL_MS = 16;
/** Typed one character at a time, the search box cleared before each (from broad to narrow matches). */
const QUERIES = [
  "payments read",
  "data pipe",
  "prod admin",
  "cc-1042",
  "ml deploy",
  "identity-staging audit",
];

/** Builds the renderer when dist/renderer has no build yet, so that `npm run bench -- renderer` works alone. */
function ensureBuild(): void {
  if (existsSync(join(DIST, "index.html"))) return;
  console.log("  dist/renderer is missing: building the renderer (vite build)…");
  const vite = join(ROOT, "node_modules/vite/bin/vite.js");
  const r = spawnSync(
    process.execPath,
    [vite, "build", "--config", "renderer/vite.config.ts", "--logLevel", "warn"],
    {
      cwd: ROOT,
      stdio: "inherit",
    },
  );
  if (r.status !== 0) throw new Error(`vite build failed (${r.status ?? r.signal})`);
}

/**
 * In every page: samples of keydown → end of the next frame, and (for pages that mark it) the time from
 * "data ready" to the end of the first frame showing rows. `window.__bench` hands them out.
 */
function probe() {
  /** Per key: [keydown → end of the painted frame, keydown → style and layout done]. */
  const keys: [number, number][] = [];
  const keyWaiters: [number, () => void][] = [];
  const frameDone = (then: (t: number, laidOut: number) => void) =>
    requestAnimationFrame(() => {
      // Style and layout now, as the frame would do them next: the main thread's share of the frame.
      void document.body.offsetHeight;
      const laidOut = performance.now();
      const ch = new MessageChannel();
      ch.port1.onmessage = () => then(performance.now(), laidOut);
      ch.port2.postMessage(null);
    });
  addEventListener(
    "keydown",
    (e) => {
      const start = e.timeStamp;
      frameDone((t, laidOut) => {
        keys.push([t - start, laidOut - start]);
        for (let i = keyWaiters.length - 1; i >= 0; i--) {
          const [n, done] = keyWaiters[i]!;
          if (keys.length >= n) {
            keyWaiters.splice(i, 1);
            done();
          }
        }
      });
    },
    true,
  );
  let dataAt = Number.NaN;
  let resolveFirst!: (v: { dataToPaint: number; loadToPaint: number }) => void;
  const first = new Promise<{ dataToPaint: number; loadToPaint: number }>((r) => {
    resolveFirst = r;
  });
  // Watched from the start: the plain page builds its list before DOMContentLoaded.
  const seen = () => document.querySelector("[data-role-ref], li.item") !== null;
  const mo = new MutationObserver(() => {
    if (!seen()) return;
    mo.disconnect();
    frameDone((t) => resolveFirst({ dataToPaint: t - dataAt, loadToPaint: t }));
  });
  mo.observe(document, { childList: true, subtree: true });
  Object.assign(window, {
    __bench: {
      markData: () => {
        dataAt = performance.now();
      },
      first,
      keyCount: () => keys.length,
      key: (n: number) =>
        new Promise<[number, number]>((r) => {
          if (keys.length >= n) r(keys[n - 1]!);
          else keyWaiters.push([n, () => r(keys[n - 1]!)]);
        }),
    },
  });
}

/** `n` roles over 100 accounts, deterministic; runs in the page (the fake API and the plain list use it). */
function generateRoles(n: number) {
  const teams = [
    "payments",
    "search",
    "identity",
    "data",
    "ml",
    "mobile",
    "web",
    "infra",
    "billing",
    "growth",
  ];
  const envs = ["prod", "staging", "dev", "sandbox", "audit"];
  const kinds = ["ReadOnly", "Developer", "Admin", "DataPipeline", "Billing", "Support", "Deploy", "Auditor"];
  const accounts = 100;
  const out = [];
  for (let i = 0; i < n; i++) {
    const a = i % accounts;
    const r = Math.floor(i / accounts);
    const team = teams[a % teams.length]!;
    const env = envs[Math.floor(a / teams.length) % envs.length]!;
    const accountId = String(100_000_000_000 + a * 7919);
    const accountName = `${team}-${env}-${a}`;
    const roleName = `${kinds[r % kinds.length]}${r >= kinds.length ? `-${Math.floor(r / kinds.length)}` : ""}`;
    out.push({
      ref: `${accountName}/${roleName}`,
      accountId,
      accountName,
      roleName,
      arn: `arn:aws:iam::${accountId}:role/${roleName}`,
      description: `${roleName} access to ${team} ${env} (${r % 3 === 0 ? "on-call" : "daily work"})`,
      cliOnly: r % 7 === 3,
      maxSessionDuration: 3600,
      tags: {
        "gatehouse-authorized": `${team}-engineers:${team}-oncall`,
        team,
        env,
        "cost-center": `cc-${1000 + a}`,
      },
    });
  }
  return out;
}

/** The fake window.gatehouse: signed in, `n` roles, nothing cached; every other call answers plainly. */
function fakeGatehouse({ n, generate }: { n: number; generate: (n: number) => unknown[] }) {
  const roles = generate(n);
  const settings = {
    brokerUrl: "https://gatehouse.example.com",
    consoleMode: "browser",
    refreshWindowSeconds: 600,
    profileTemplate: "{account}-{role}",
    launchAtLogin: false,
    theme: "light",
  };
  const answers: Record<string, () => unknown> = {
    status: () => ({
      signedIn: true,
      email: "bench@example.com",
      groups: ["engineers"],
      brokerUrl: settings.brokerUrl,
      brokerReachable: true,
      cached: [],
    }),
    roles: () => {
      (window as unknown as { __bench: { markData(): void } }).__bench.markData();
      return roles;
    },
    favourites: () => [],
    recent: () => [],
    getSettings: () => settings,
    consoleWindows: () => [],
  };
  Object.defineProperty(window, "gatehouse", {
    value: new Proxy({}, { get: (_t, channel: string) => async () => (answers[channel] ?? (() => ({})))() }),
  });
}

/** The baseline list: an input over a <ul> of every role, filtered by hiding <li>s (no virtualisation). */
const PLAIN_PAGE = (n: number) => `<!doctype html><meta charset="utf-8"><title>plain list</title>
<style>body{font:14px system-ui;margin:0;display:flex;flex-direction:column;height:100vh}
input{margin:12px;height:34px}ul{flex:1;overflow:auto;margin:0;padding:0 12px;list-style:none}
li{height:59px;border-bottom:1px solid #ddd;display:flex;flex-direction:column;justify-content:center}
li span{color:#666;font-size:12px}</style>
<input id="q" aria-label="Search roles"><ul id="list"></ul>
<script>
${NAME_SHIM}
const roles = (${generateRoles.toString()})(${n});
const hay = roles.map((r) => (r.accountId + " " + r.accountName + " " + r.roleName + " " + r.description + " " +
  Object.entries(r.tags).map(([k, v]) => k + "=" + v).join(" ")).toLowerCase());
window.__bench.markData();
const ul = document.getElementById("list");
const items = roles.map((r) => {
  const li = document.createElement("li");
  li.className = "item";
  li.innerHTML = "<b></b><span></span>";
  li.firstChild.textContent = r.ref;
  li.lastChild.textContent = r.description;
  return li;
});
ul.append(...items);
document.getElementById("q").addEventListener("input", (e) => {
  const terms = e.target.value.toLowerCase().split(/\\s+/).filter(Boolean);
  for (let i = 0; i < items.length; i++) items[i].hidden = !terms.every((t) => hay[i].includes(t));
});
</script>`;

const EMPTY_PAGE = `<!doctype html><meta charset="utf-8"><title>empty</title><input id="q" aria-label="Search roles">`;

// Functions run in the page as their source text. Under tsx that text calls esbuild's __name helper, which
// the page lacks: give it one that does nothing.
const NAME_SHIM = "globalThis.__name ??= (f) => f;";

/** Init scripts of a bench page: the probe, and the fake API with `roles` roles when asked for. */
async function preparePage(context: BrowserContext, roles?: number): Promise<void> {
  const fake =
    roles === undefined
      ? ""
      : `(${fakeGatehouse.toString()})({ n: ${roles}, generate: ${generateRoles.toString()} });`;
  await context.addInitScript({ content: `${NAME_SHIM}\n(${probe.toString()})();\n${fake}` });
}

/** Frames start as soon as there is work (no 60 Hz wait): what is measured is the renderer's own work. */
const launch = () =>
  chromium.launch(chromiumLaunchOptions(["--disable-gpu-vsync", "--disable-frame-rate-limit"]));

/** Samples of one case, as the page measured them (the first `warmup` dropped). */
function samples(warmup: number) {
  const all: number[] = [];
  return {
    add: (x: number) => all.push(x),
    timed: () => all.slice(warmup).sort((a, b) => a - b),
  };
}

const line = (label: string, xs: readonly number[]) =>
  `${label}: p50 ${formatMs(percentile(xs, 50))}, p95 ${formatMs(percentile(xs, 95))} (${xs.length} samples)`;

async function firstRender(ctx: BenchContext, browser: Browser, server: StaticServer) {
  const appPage = async (n: number) => {
    const context = await browser.newContext({ viewport: { width: 1040, height: 700 } });
    await preparePage(context, n);
    return { context, page: await context.newPage(), url: server.url };
  };
  const plain = await browser.newContext({ viewport: { width: 1040, height: 700 } });
  await preparePage(plain);
  const targets = {
    app10k: await appPage(ROLES),
    app3: await appPage(3),
    plain: {
      context: plain,
      page: await plain.newPage(),
      url: server.page("/bench/plain.html", PLAIN_PAGE(ROLES)),
    },
  };
  const warmup = 3;
  const rec = { app10k: samples(warmup), app3: samples(warmup), plain: samples(warmup) };
  const load = { app10k: samples(warmup), app3: samples(warmup), plain: samples(warmup) };
  const op = (key: keyof typeof targets) => async () => {
    const t = targets[key];
    await t.page.goto(t.url);
    const r = await t.page.evaluate(
      () =>
        (window as unknown as { __bench: { first: Promise<{ dataToPaint: number; loadToPaint: number }> } })
          .__bench.first,
    );
    rec[key].add(r.dataToPaint);
    load[key].add(r.loadToPaint);
  };
  const common = { concurrency: 1, iterations: 30, warmup, maxSeconds: 60 };
  const cases: Case[] = [
    { name: "renderer.first-render.3-roles", op: op("app3"), note: "the app, 3 roles", ...common },
    {
      name: "renderer.first-render.plain-ul",
      op: op("plain"),
      note: `plain <ul>, ${ROLES.toLocaleString("en")} <li>`,
      ...common,
    },
    {
      name: "renderer.first-render.10k",
      op: op("app10k"),
      note: `the app, ${ROLES.toLocaleString("en")} roles (page loads/s)`,
      baseline: "renderer.first-render.3-roles",
      ...common,
    },
  ];
  await ctx.compare(cases, { rounds: 3 });
  const a = rec.app10k.timed();
  const b = rec.app3.timed();
  const p = rec.plain.timed();
  console.log(`  first render, roles() → first rows painted:`);
  console.log(`    ${line(`the app, ${ROLES.toLocaleString("en")} roles`, a)}`);
  console.log(`    ${line("the app, 3 roles", b)}`);
  console.log(`    ${line(`plain <ul> of ${ROLES.toLocaleString("en")} <li>`, p)}`);
  console.log(
    `    ${line(`page load → painted, the app with ${ROLES.toLocaleString("en")} roles`, load.app10k.timed())}`,
  );
  console.log(
    `    → ${ROLES.toLocaleString("en")} roles cost ${(percentile(a, 50) / percentile(b, 50)).toFixed(2)}× 3 roles at p50; ` +
      `${(percentile(a, 50) / percentile(p, 50)).toFixed(2)}× the plain <ul> at p50, ` +
      `${(percentile(a, 95) / percentile(p, 95)).toFixed(2)}× at p95`,
  );
  for (const t of Object.values(targets)) await t.context.close();
}

async function keystrokes(ctx: BenchContext, server: StaticServer) {
  // A browser per page: one page's raster and compositing work never queues behind another's.
  const open = async (url: string, fake: boolean): Promise<{ browser: Browser; page: Page }> => {
    const browser = await launch();
    const context = await browser.newContext({ viewport: { width: 1040, height: 700 } });
    await preparePage(context, fake ? ROLES : undefined);
    const page = await context.newPage();
    await page.goto(url);
    return { browser, page };
  };
  const app = await open(server.url, true);
  await app.page.locator("[data-role-ref]").first().waitFor();
  const plain = await open(server.page("/bench/plain.html", PLAIN_PAGE(ROLES)), false);
  const empty = await open(server.page("/bench/empty.html", EMPTY_PAGE), false);
  const script = QUERIES.flatMap((q) => [...q].map((ch, i) => ({ ch, clear: i === 0 })));
  const warmup = 10;

  const typer = (page: Page) => {
    const input = page.getByRole(page === app.page ? "searchbox" : "textbox", { name: "Search roles" });
    const painted = samples(warmup);
    const laidOut = samples(warmup);
    let sent = 0;
    let at = 0;
    const op = async () => {
      const step = script[at++ % script.length]!;
      if (step.clear) {
        // fill() focuses the box; the timed keys then go straight to it, with no element lookup in between.
        await input.fill("");
        // Let the cleared list paint before the timed key.
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
      }
      sent++;
      // Asked for before the key is sent, so that no evaluation lands between the key and its frame.
      const sample = page.evaluate(
        (n) =>
          (window as unknown as { __bench: { key(n: number): Promise<[number, number]> } }).__bench.key(n),
        sent,
      );
      await page.keyboard.press(step.ch === " " ? "Space" : step.ch);
      const [toPaint, toLayout] = await sample;
      painted.add(toPaint);
      laidOut.add(toLayout);
    };
    return { op, painted, laidOut };
  };
  const t = { app: typer(app.page), plain: typer(plain.page), empty: typer(empty.page) };
  const common = { concurrency: 1, iterations: 3 * script.length, warmup, maxSeconds: 90 };
  await ctx.compare(
    [
      {
        name: "renderer.keystroke.empty-frame",
        op: t.empty.op,
        note: "empty page's input (keys/s)",
        ...common,
      },
      {
        name: "renderer.keystroke.plain-ul",
        op: t.plain.op,
        note: `plain <ul> of ${ROLES.toLocaleString("en")}`,
        baseline: "renderer.keystroke.empty-frame",
        ...common,
      },
      {
        name: "renderer.keystroke.10k",
        op: t.app.op,
        note: `the app, ${ROLES.toLocaleString("en")} roles`,
        baseline: "renderer.keystroke.empty-frame",
        ...common,
      },
    ],
    { rounds: 3 },
  );
  const n = ROLES.toLocaleString("en");
  console.log(
    `  keystroke in the search box (queries typed one character at a time: ${QUERIES.join(", ")}):`,
  );
  const verdicts: string[] = [];
  for (const [what, pick] of [
    ["keydown → style and layout done (script, style, layout: the main thread's work)", "laidOut"],
    ["keydown → end of the painted frame (adds paint and the compositor's commit)", "painted"],
  ] as const) {
    const a = t.app[pick].timed();
    const e = t.empty[pick].timed();
    const p = t.plain[pick].timed();
    console.log(`    ${what}:`);
    console.log(`      ${line(`the app's search, ${n} roles`, a)}`);
    console.log(`      ${line("empty page's input (the floor)", e)}`);
    console.log(`      ${line(`plain <ul> of ${n} <li>, filtered in place`, p)}`);
    console.log(
      `      → the app: ${(percentile(a, 50) / percentile(e, 50)).toFixed(2)}× the empty page at p50, ` +
        `${(percentile(a, 95) / percentile(e, 95)).toFixed(2)}× at p95; ` +
        `${(percentile(a, 95) / percentile(p, 95)).toFixed(2)}× the plain <ul> at p95`,
    );
    const p95 = percentile(a, 95);
    verdicts.push(
      `${pick === "laidOut" ? "to layout" : "to paint"} ${formatMs(p95)} ${p95 <= KEYSTROKE_GOAL_MS ? "met" : "NOT met"}` +
        ` (the empty page's own p95: ${formatMs(percentile(e, 95))})`,
    );
  }
  const load = loadavg()[0]!.toFixed(2);
  console.log(
    `    → goal: keystroke p95 ≤ ${KEYSTROKE_GOAL_MS} ms with ${n} roles: ${verdicts.join("; ")}; ` +
      `load average ${load} on ${cpus().length} CPUs`,
  );
  for (const x of [app, plain, empty]) await x.browser.close();
}

defineBench({
  name: "renderer",
  description: `the tray app's renderer in Chromium with ${ROLES.toLocaleString("en")} roles: first render and per-keystroke search`,
  async run(ctx) {
    ensureBuild();
    const server = await startStaticServer(DIST);
    const browser = await launch();
    try {
      console.log(`  set-up: ${browser.version()}, renderer build served at ${server.origin}`);
      const started = performance.now();
      await firstRender(ctx, browser, server);
      await keystrokes(ctx, server);
      console.log(`  measured in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
