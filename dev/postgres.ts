// Private PostgreSQL clusters for tests and the demo: initdb in a folder of our own, one server on a
// loopback port and a Unix socket in that folder — never the system service, never port 5432.

import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { GatehouseError } from "../shared/errors.ts";

export interface PrivateCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication: loopback, this machine only). */
  url: string;
  port: number;
  dataDir: string;
  socketDir: string;
  /** A fresh empty database on this cluster; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stop the server and remove its folder. */
  stop(): Promise<void>;
  /** Stop and start again on the same port and data (what a database failover looks like to a broker). */
  restart(): Promise<void>;
}

const PG_ROOT = "/usr/lib/postgresql";

/** The newest installed PostgreSQL's bin folder (Debian layout), or GATEHOUSE_PG_BIN. */
export function postgresBinDir(): string {
  const override = process.env.GATEHOUSE_PG_BIN;
  if (override) {
    if (!existsSync(join(override, "initdb")))
      throw new GatehouseError("POSTGRES_NOT_INSTALLED", `GATEHOUSE_PG_BIN=${override} holds no initdb`);
    return override;
  }
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(PG_ROOT, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new GatehouseError(
      "POSTGRES_NOT_INSTALLED",
      `no PostgreSQL server binaries under ${PG_ROOT}/*/bin: install the Debian package "postgresql" (apt-get install postgresql), or set GATEHOUSE_PG_BIN`,
    );
  return join(PG_ROOT, versions[0]!, "bin");
}

// PostgreSQL refuses to run as root: as root we run its tools as the `postgres` user on a folder we
// give to it; as anyone else, as ourselves.
const asRoot = process.getuid?.() === 0;

function runPg(bin: string, args: string[], what: string, logFile?: string): void {
  const cmd = asRoot ? "runuser" : bin;
  const argv = asRoot ? ["-u", "postgres", "--", bin, ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 120_000 });
  if (r.status === 0) return;
  let log = "";
  try {
    if (logFile) log = readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    // No log yet: the command's own output says what happened.
  }
  const out = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n").slice(-10).join("\n");
  throw new GatehouseError(
    "POSTGRES_FAILED",
    `${what} failed (${r.error ? r.error.message : `exit ${r.status}`}): ${out}${log ? `\n${log}` : ""}`,
    { cause: r.error },
  );
}

async function freePort(): Promise<number> {
  return await new Promise((resolveP, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      server.close(() => resolveP(port));
    });
  });
}

function giveToPostgres(path: string): void {
  if (!asRoot) return;
  const r = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (r.status !== 0)
    throw new GatehouseError(
      "POSTGRES_NOT_INSTALLED",
      'there is no "postgres" user to run PostgreSQL as (install the Debian package "postgresql")',
    );
  chownSync(path, Number(r.stdout.trim()), Number(g.stdout.trim()));
}

// Clusters still running when this process exits (a test run that crashed, Ctrl-C): stopped then, so no
// orphan postgres outlives its tests.
const running = new Set<{ bin: string; dataDir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const c of running) {
      try {
        runPg(join(c.bin, "pg_ctl"), ["stop", "-D", c.dataDir, "-m", "immediate", "-w"], "pg_ctl stop");
      } catch {
        // Exiting anyway: nothing more to do.
      }
    }
  });
}

const DB_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
let databases = 0;

/**
 * A fresh empty database on the cluster at `adminUrl` (any database of it the user may connect to); its
 * URL. Usable from any process that knows the URL (test workers of a cluster the global setup started).
 */
export async function createDatabaseOn(adminUrl: string, name?: string): Promise<string> {
  const db = name ?? `gh_${process.pid}_${++databases}_${Math.random().toString(36).slice(2, 8)}`;
  if (!DB_NAME.test(db))
    throw new GatehouseError("BAD_ARGUMENT", `database name ${JSON.stringify(db)}: use [a-z_][a-z0-9_]*`);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${db}"`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function startPrivateCluster(
  opts: { port?: number; dir?: string } = {},
): Promise<PrivateCluster> {
  const bin = postgresBinDir();
  // Short paths: a Unix socket's path is limited to ~107 bytes.
  const dir = opts.dir ? resolve(opts.dir) : mkdtempSync(join(tmpdir(), "gh-pg-"));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  giveToPostgres(dir);
  const dataDir = join(dir, "data");
  const socketDir = dir;
  const logFile = join(dir, "server.log");
  if (!existsSync(join(dataDir, "PG_VERSION")))
    runPg(
      join(bin, "initdb"),
      ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
      "initdb",
    );

  const entry = { bin, dataDir };
  const startOn = (port: number): void => {
    const options = [
      "-c listen_addresses=127.0.0.1",
      `-p ${port}`,
      `-k ${socketDir}`,
      // Tests throw their clusters away: durability buys nothing here and costs seconds.
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
    ].join(" ");
    runPg(
      join(bin, "pg_ctl"),
      ["start", "-w", "-t", "60", "-D", dataDir, "-l", logFile, "-o", options],
      `starting PostgreSQL on 127.0.0.1:${port}`,
      logFile,
    );
    running.add(entry);
    installExitHook();
  };

  let port = opts.port ?? 0;
  if (opts.port !== undefined) startOn(opts.port);
  else {
    // A port found free may be taken before the server binds it: try another.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        startOn(port);
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pgStop = (): void => {
    if (!running.has(entry)) return;
    runPg(
      join(bin, "pg_ctl"),
      ["stop", "-w", "-t", "60", "-D", dataDir, "-m", "fast"],
      "pg_ctl stop",
      logFile,
    );
    running.delete(entry);
  };
  return {
    url,
    port,
    dataDir,
    socketDir,
    createDatabase: (name?: string) => createDatabaseOn(url, name),
    async stop(): Promise<void> {
      pgStop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(): Promise<void> {
      pgStop();
      startOn(port);
    },
  };
}
