import { execFileSync } from "node:child_process";
import { existsSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { aggregateDay } from "../../functions/aggregateDay.ts";
import { emptyLedger } from "../../functions/advice/ledger.ts";
import { loadFamilyState } from "../../functions/advice/load.ts";
import { dashboard } from "../../functions/dashboard.ts";
import { queryDaily } from "../../functions/queryDaily.ts";
import { storeIncrements } from "../../functions/store.ts";
import { summary, today } from "../../functions/summary.ts";
import { usageByHour } from "../../functions/usage.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { VIEWER_CACHE_KIB } from "../../runner/viewer/start.ts";
import type { Context } from "../../shared/context.ts";
import { migrate } from "../../shared/migrations.ts";
import { buildRollup, ROLL_UP_NEW, startRollup } from "../../shared/rollup.ts";
import { testContext } from "../support/context.ts";
import { ROOT } from "../support/process.ts";
import { ROLLUP_DIFFERENCES_SQL } from "../support/rollup.ts";
import { median } from "./median.ts";
import { benchRollupWrites, type RollupWriteResults } from "./rollup-writes.ts";
import type { Figure } from "./table.ts";

/**
 * The live reads on a busy family's day: 1,000 agents, each reporting every
 * 30 s, 2.9 million reports in the 24 hours before the file was made (the
 * issue's "household server shared by several families"). Each read is
 * timed through the rollup, and again with the rollup marked unbuilt, when
 * the reads sum the reports as they all did before it (functions/usage.ts):
 * the before and after of the same run.
 */
const AGENTS = 1000;
const REPORTS = 2_900_000;
const RUNS = 7;
const ZONE = "UTC";

export interface RollupResults {
  reports: number;
  generatedSeconds: number;
  buildSeconds: number;
  /** The daily catch-up: closing yesterday and checking its hours of the rollup. */
  dailyJobSeconds: number;
  /** Per read: milliseconds of each run, through the rollup and summing the reports. */
  reads: Record<string, { rollup: number[]; reports: number[] }>;
  /** Rows of usage_hourly that differ from the reports' sums, by the sqlite3 CLI, and its seconds. */
  differing: number;
  checkSeconds: number;
  /** The write path with and without the rollup, per commit size. */
  writes: RollupWriteResults[];
}

/** The day's file, made once per UTC day under the OS's temporary directory (about a minute), reused after. */
function makeDay(log: (line: string) => void): { path: string; generatedSeconds: number } {
  const dayStart = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const path = join(tmpdir(), `rs-bench-rollups-${AGENTS}agents-${new Date(dayStart).toISOString().slice(0, 10)}.db`);
  if (existsSync(path)) return { path, generatedSeconds: 0 };
  const started = Date.now();
  const building = `${path}.building`;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${building}${suffix}`, { force: true });
  execFileSync(process.execPath, ["--import", "tsx", "runner/index.ts", "invoke", "health"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: `file:${building}` }, stdio: "ignore" });
  // The 24 hours up to the start of this hour: today and yesterday both have reports, every hour of them closed but this one.
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const start = end - 86_400_000;
  const step = 86_400_000 / (REPORTS / AGENTS);
  log(`  generating ${REPORTS.toLocaleString("en")} reports of ${AGENTS} agents with sqlite3 into ${path}`);
  const indexes = JSON.parse(execFileSync("sqlite3", ["-json", building, "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'resource_share_increments' AND type = 'index' AND sql IS NOT NULL"], { encoding: "utf8" }) || "[]") as { name: string; sql: string }[];
  const script = `
.bail on
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -400000;
${indexes.map((i) => `DROP INDEX ${i.name};`).join("\n")}
BEGIN;
INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta, received_at)
  SELECT name, ts, CASE WHEN (v * 2654435761) % 7 < 2 THEN 'collaboration' ELSE 'autonomy' END, 500 + (v * 40503) % 20000,
      CASE WHEN a % 3 = 0 THEN ((v * 40503) % 20000) * 3e-7 END, ts
    FROM (SELECT value AS v, value % ${AGENTS} AS a, printf('agent-%04d', value % ${AGENTS}) AS name,
        strftime('%Y-%m-%dT%H:%M:%fZ', (${start} + (value / ${AGENTS}) * ${step} + (value % ${AGENTS}) * ${step / AGENTS}) / 1000.0, 'unixepoch') AS ts
      FROM generate_series(0, ${REPORTS - 1}));
INSERT INTO claude_identities (name, first_seen, last_seen, active)
  SELECT printf('agent-%04d', value), strftime('%Y-%m-%dT%H:%M:%fZ', ${start} / 1000.0, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', ${end} / 1000.0, 'unixepoch'), 1
    FROM generate_series(0, ${AGENTS - 1}) WHERE true ON CONFLICT (name) DO NOTHING;
COMMIT;
${indexes.map((i) => `${i.sql};`).join("\n")}
PRAGMA journal_mode = WAL;
`;
  execFileSync("sqlite3", [building], { input: script, encoding: "utf8" });
  renameSync(building, path);
  const generatedSeconds = (Date.now() - started) / 1000;
  log(`  generated in ${generatedSeconds.toFixed(0)} s`);
  return { path, generatedSeconds };
}

async function timed(run: () => Promise<unknown>): Promise<number[]> {
  await run(); // warm: the first run reads the pages from the disk
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  return ms;
}

export async function benchRollups(log: (line: string) => void): Promise<RollupResults> {
  // 1 report per commit: one agent's timer alone; 10 and 50: group commits under load.
  const writes: RollupWriteResults[] = [];
  for (const perCommit of [1, 10, 50]) writes.push(await benchRollupWrites(log, { perCommit }));
  const { path, generatedSeconds } = makeDay(log);
  const database = await openDatabase({ url: `file:${path}` });
  const db = database.client;
  try {
    await migrate(db);
    // As a database from before the rollup, or one whose rollup was dropped: built from scratch, timed.
    const tx = await db.transaction("write");
    await startRollup(tx);
    await tx.commit();
    const t0 = performance.now();
    await buildRollup(db);
    const buildSeconds = (performance.now() - t0) / 1000;
    const reports = Number((await db.execute("SELECT count(*) AS n FROM resource_share_increments")).rows[0]!.n);
    log(`  rollup of ${reports.toLocaleString("en")} reports built in ${buildSeconds.toFixed(1)} s`);

    const ctx: Context = testContext(db, { timeZone: ZONE, replayWindowDays: 7 });
    // The dashboard is the viewer's: read on a connection opened as the viewer opens its own.
    const viewer = await openDatabase({ url: `file:${path}`, queryOnly: true, cacheKib: VIEWER_CACHE_KIB });
    const viewerCtx: Context = { ...ctx, db: viewer.db };
    // As the service runs: the daily job has closed yesterday (and checked the rollup, which it now does too).
    const t1 = performance.now();
    const closed = await aggregateDay({}, ctx);
    if (!closed.ok) throw new Error(`the daily catch-up refused: ${closed.error.message}`);
    const dailyJobSeconds = (performance.now() - t1) / 1000;
    log(`  daily job (close ${closed.value.days_closed} day(s), check the rollup: ${closed.value.rollup_check?.status}, ${closed.value.rollup_check?.rows_checked} rows): ${dailyJobSeconds.toFixed(1)} s`);
    // Reports keep coming after the daily job, and the reads ask whether any of them is late for a closed day.
    const arrived = new Date().toISOString();
    await storeIncrements(db, Array.from({ length: 100 }, (_, i) => ({
      claude_name: `agent-${String(i * 10).padStart(4, "0")}`, timestamp: arrived, mode: "autonomy" as const, cache_read_increment: 100,
      context_percentage: null, cost_delta: null, event_id: null, received_at: arrived, host: null,
    })));
    await db.batch(ROLL_UP_NEW, "write");
    const mustOk = async (p: Promise<{ ok: boolean }>) => {
      if (!(await p).ok) throw new Error("a read refused the benchmark's input");
    };
    const ledger = emptyLedger();
    await loadFamilyState(db, Date.now(), ctx.config, ledger);
    let n = 0;
    const reads: [string, () => Promise<unknown>][] = [
      ["summary", () => mustOk(summary({}, ctx))],
      ["today", () => mustOk(today({ claude_name: "agent-0500" }, ctx))],
      ["queryDaily, 7 days", () => mustOk(queryDaily({}, ctx))],
      ["dashboard", () => mustOk(dashboard({}, viewerCtx))],
      // As the webhook refreshes it: the reports stored since the last refresh (one group commit's worth) added to its ledger.
      ["advice-state refresh", async () => {
        const now = new Date().toISOString();
        await storeIncrements(db, Array.from({ length: 20 }, (_, i) => ({
          claude_name: `agent-${String((n++ * 37 + i) % AGENTS).padStart(4, "0")}`, timestamp: now, mode: "autonomy" as const, cache_read_increment: 100,
          context_percentage: null, cost_delta: null, event_id: null, received_at: now, host: null, recommended_interval: 180,
        })));
        await loadFamilyState(db, Date.now(), ctx.config, ledger);
      }],
      // On whole hours, as a caller asks for the last 24 of them (partial hours would be summed from the reports).
      ["usage by hour, 24 h (info)", () => {
        const nextHour = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
        return usageByHour(db, nextHour - 86_400_000, nextHour);
      }],
    ];
    const results: RollupResults["reads"] = {};
    for (const [name, run] of reads) {
      const rollup = await timed(run);
      // Unbuilt: every read sums the reports, as before the rollup.
      await db.execute("UPDATE usage_hourly_state SET built_through_id = -1");
      const raw = await timed(run);
      await db.execute("UPDATE usage_hourly_state SET built_through_id = build_until_id");
      results[name] = { rollup, reports: raw };
      log(`  ${name}: ${median(rollup).toFixed(1)} ms through the rollup, ${median(raw).toFixed(1)} ms summing the reports`);
    }
    // What the webhook does within a second of those commits: the check below then compares every report.
    await db.batch(ROLL_UP_NEW, "write");
    viewer.close();
    database.close();
    const t2 = performance.now();
    const differing = Number(execFileSync("sqlite3", [path, ROLLUP_DIFFERENCES_SQL], { encoding: "utf8" }).trim());
    const checkSeconds = (performance.now() - t2) / 1000;
    log(`  sqlite3 CLI: ${differing} row(s) of usage_hourly differ from the reports' sums (${checkSeconds.toFixed(1)} s)`);
    return { reports, generatedSeconds, buildSeconds, dailyJobSeconds, reads: results, differing, checkSeconds, writes };
  } finally {
    if (!db.closed) database.close();
  }
}

export function rollupFigures(r: RollupResults): Figure[] {
  const day = `${(r.reports / 1e6).toFixed(1)}M reports/day`;
  return [
    ...r.writes.flatMap((w): Figure[] => {
      const ratio = median(w.behind) / median(w.without);
      const each = median(w.inEachCommit) / median(w.without);
      return [
        { name: `store ${w.perCommit} report(s)/commit, rollup behind`, value: median(w.behind), unit: "rows/s", reference: "no rollup", referenceValue: median(w.without), ratio, target: ">= 0.95", met: ratio >= 0.95 },
        { name: `store ${w.perCommit} report(s)/commit, rollup in each`, value: median(w.inEachCommit), unit: "rows/s", reference: "no rollup", referenceValue: median(w.without), ratio: each, target: "(info: not chosen)", met: null },
      ];
    }),
    ...Object.entries(r.reads).map(([name, { rollup, reports }]): Figure => {
      const info = name.endsWith("(info)");
      const ms = median(rollup);
      return {
        name: `${name.replace(" (info)", "")}, ${day}`, value: ms, unit: "ms", reference: "summing the reports (before)", referenceValue: median(reports),
        ratio: ms / median(reports), target: info ? "(info)" : "< 50 ms", met: info ? null : ms < 50,
      };
    }),
    { name: `rollup build on start, ${day}`, value: r.buildSeconds, unit: "s", reference: "(info)", referenceValue: Number.NaN, ratio: Number.NaN, target: "(info)", met: null },
    { name: `daily job with the rollup check, ${day}`, value: r.dailyJobSeconds, unit: "s", reference: "(info)", referenceValue: Number.NaN, ratio: Number.NaN, target: "(info)", met: null },
    { name: "rollup rows unequal to the reports (sqlite3)", value: r.differing, unit: "rows", reference: "target", referenceValue: 0, ratio: Number.NaN, target: "= 0", met: r.differing === 0 },
  ];
}
