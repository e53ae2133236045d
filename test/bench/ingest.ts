import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { freeLoopbackPorts, spawnListening, type RunningProcess } from "../support/process.ts";
import { deployedArguments } from "./deployed.ts";
import { startSqld } from "../support/sqld.ts";
import { body, family, reports } from "./family.ts";
import { combineRuns, load, type LoadResult } from "./load.ts";

export interface IngestOptions {
  seed: number;
  /** Seconds per measured run; a shorter warm-up precedes the first. */
  seconds: number;
  /**
   * Measured runs of each server at each connection count, the bare
   * endpoint's and the webhook's in turn; each figure is their median.
   */
  rounds: number;
  warmupSeconds: number;
  /** A fresh database file for the webhook. */
  databasePath: string;
  timeZone: string;
}

export interface IngestResults {
  /** Medians of the runs below. */
  bare: { c10: LoadResult; c1: LoadResult };
  webhook: { c10: LoadResult; c1: LoadResult };
  /** Every measured run, in the order they ran. */
  runs: { bare: { c10: LoadResult[]; c1: LoadResult[] }; webhook: { c10: LoadResult[]; c1: LoadResult[] } };
  /** 200 answers the webhook gave, warm-up included, and rows found in the file afterwards. */
  acknowledged: number;
  rowsStored: number;
  /** The webhook over a libSQL server (sqld) on loopback instead of the file, at 10 connections. */
  sqld: { c10: LoadResult; acknowledged: number; rowsStored: number };
  /** The webhook with DURABILITY=full (a 200 once the WAL is synced) on a fresh file, at 10 connections, in turn with the default's runs. */
  full: { c10: LoadResult; acknowledged: number; rowsStored: number };
}

const PATH = "/resource-share/increment";

/**
 * The webhook as deployed: node's arguments as the systemd unit gives them,
 * access log on (into `logFile`, as journald would take it).
 */
export async function startWebhook(env: Record<string, string>, logFile: string): Promise<RunningProcess> {
  const [port] = await freeLoopbackPorts(1);
  return spawnListening(deployedArguments("resource-share-server.service"), {
    env: { PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    keepOutput: false,
    logFile,
  });
}

export function startBare(): Promise<RunningProcess> {
  return spawnListening(["--import", "tsx", "test/bench/bare-endpoint.ts"], { env: { PORT: "0" }, keepOutput: false });
}

/** Two hours of the family's reports, as their timers would post them. */
export function familyBodies(seed: number): string[] {
  return reports(family(seed), seed, 240).map(body);
}

/**
 * Loads the bare endpoint and the webhook in turn with the same traffic,
 * at 10 connections and at 1, `rounds` times each, and checks afterwards
 * that every 200 the webhook gave has its row in the file.
 */
export async function benchIngest(o: IngestOptions, log: (line: string) => void): Promise<IngestResults> {
  const bodies = familyBodies(o.seed);
  const bare = await startBare();
  const webhook = await startWebhook({ DATABASE_URL: `file:${o.databasePath}`, RESOURCE_SHARE_TZ: o.timeZone }, `${o.databasePath}.log`);
  try {
    const run = async (p: RunningProcess, name: string, connections: number, seconds: number) => {
      const r = await load({ url: p.url, path: PATH, bodies, connections, seconds, pid: p.child.pid! });
      log(`  ${name} at ${connections} connection(s): ${r.reqPerSec.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms`);
      return r;
    };
    let acknowledged = 0;
    acknowledged += (await run(webhook, "webhook warm-up", 10, o.warmupSeconds)).ok;
    await run(bare, "bare warm-up", 10, o.warmupSeconds);
    // In turn, so that a spell of other work on the machine slows both alike.
    const inTurn = async (connections: number) => {
      const bareRuns: LoadResult[] = [];
      const hookRuns: LoadResult[] = [];
      for (let round = 0; round < o.rounds; round++) {
        bareRuns.push(await run(bare, "bare endpoint", connections, o.seconds));
        hookRuns.push(await run(webhook, "webhook", connections, o.seconds));
      }
      return { bareRuns, hookRuns };
    };
    const at10 = await inTurn(10);
    const at1 = await inTurn(1);
    const [bare10, hook10, bare1, hook1] = [at10.bareRuns, at10.hookRuns, at1.bareRuns, at1.hookRuns].map(combineRuns) as [LoadResult, LoadResult, LoadResult, LoadResult];
    acknowledged += hook10.ok + hook1.ok;
    await webhook.stop();
    const rowsStored = countRows(o.databasePath);
    const full = await benchFull(o, run);
    const sqld = await benchSqld(o, bodies, run);
    return {
      bare: { c10: bare10, c1: bare1 },
      webhook: { c10: hook10, c1: hook1 },
      runs: { bare: { c10: at10.bareRuns, c1: at1.bareRuns }, webhook: { c10: at10.hookRuns, c1: at1.hookRuns } },
      acknowledged,
      rowsStored,
      sqld,
      full,
    };
  } finally {
    await Promise.all([bare.kill(), webhook.kill()]);
  }
}

const countRows = (path: string) =>
  Number(execFileSync("sqlite3", [path, "SELECT count(*) FROM resource_share_increments"], { encoding: "utf8" }).trim());

/**
 * DURABILITY=full at 10 connections: the cost of a 200 that survives a
 * power loss, beside the default's figure (measured just before, on the
 * same machine and the same traffic).
 */
async function benchFull(
  o: IngestOptions,
  run: (p: RunningProcess, name: string, connections: number, seconds: number) => Promise<LoadResult>,
): Promise<IngestResults["full"]> {
  const path = `${o.databasePath.replace(/\.db$/, "")}-full.db`;
  const webhook = await startWebhook({ DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: o.timeZone, DURABILITY: "full" }, `${path}.log`);
  try {
    let acknowledged = (await run(webhook, "webhook DURABILITY=full, warm-up", 10, o.warmupSeconds)).ok;
    const runs: LoadResult[] = [];
    for (let round = 0; round < o.rounds; round++) runs.push(await run(webhook, "webhook DURABILITY=full", 10, o.seconds));
    const c10 = combineRuns(runs);
    acknowledged += runs.reduce((sum, r) => sum + r.ok, 0);
    await webhook.stop();
    return { c10, acknowledged, rowsStored: countRows(path) };
  } finally {
    await webhook.kill();
  }
}

/** The same load on a webhook whose database is a libSQL server (test/support/sqld.ts) on loopback. */
async function benchSqld(
  o: IngestOptions,
  bodies: string[],
  run: (p: RunningProcess, name: string, connections: number, seconds: number) => Promise<LoadResult>,
): Promise<IngestResults["sqld"]> {
  const server = await startSqld();
  try {
    // The spool (used only if the server stops answering) goes beside the benchmark's files, not into data/.
    const webhook = await startWebhook({ DATABASE_URL: server.url, RESOURCE_SHARE_TZ: o.timeZone, SPOOL_DIR: dirname(o.databasePath) }, `${o.databasePath}.sqld.log`);
    let acknowledged = 0;
    let c10: LoadResult;
    try {
      acknowledged += (await run(webhook, "webhook on sqld, warm-up", 10, o.warmupSeconds)).ok;
      c10 = await run(webhook, "webhook on sqld", 10, o.seconds);
      acknowledged += c10.ok;
      await webhook.stop();
    } finally {
      await webhook.kill();
    }
    const db = await openDatabase({ url: server.url });
    try {
      const rs = await db.client.execute("SELECT count(*) AS n FROM resource_share_increments");
      return { c10, acknowledged, rowsStored: Number(rs.rows[0]!.n) };
    } finally {
      db.close();
    }
  } finally {
    await server.stop();
  }
}
