import { execFileSync } from "node:child_process";
import { hoursOfDay } from "../../functions/history/hours.ts";
import { buildRollup, ensureRollup, ROLL_UP_NEW } from "../../shared/rollup.ts";
import { periodOf } from "../../functions/history/period.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { addDays } from "../../shared/time.ts";
import { freeLoopbackPorts, ROOT, spawnListening } from "../support/process.ts";
import { deployedArguments } from "./deployed.ts";
import type { History } from "./history.ts";
import { timedGet } from "./viewer.ts";
import { median } from "./median.ts";

export interface ReportsResults {
  month: string;
  /** GET /reports/month?of=... on the history's database, in ms, each run after a warm-up. */
  monthPageMs: number[];
  /** The report's one read of the increments (busiest hours) alone, in process, in ms. */
  hoursReadMs: number[];
}

/**
 * The monthly report page of the viewer as deployed (its systemd unit's
 * node arguments) on the history's database, its days closed first (the
 * catch-up, as the daily timer runs it; nothing to do when the aggregation
 * bench ran before): the latest month the history covers whole (the year's
 * history), or the month of its last day (the quick run's week). Also the
 * hourly read alone (from the hourly rollup, built first as the service's
 * start builds it).
 */
export async function benchReports(h: History, timeZone: string, log: (line: string) => void): Promise<ReportsResults> {
  const env = { ...process.env, DATABASE_URL: `file:${h.path}`, RESOURCE_SHARE_TZ: timeZone };
  execFileSync(process.execPath, ["--import", "tsx", "runner/index.ts", "aggregate"], { cwd: ROOT, env, stdio: "ignore" });
  // The history is written by SQL, not through a webhook: roll it up as the service's start (serve) and its webhook would.
  const writer = await openDatabase({ url: `file:${h.path}` });
  try {
    const started = performance.now();
    await ensureRollup(writer.db);
    await buildRollup(writer.db);
    await writer.db.batch(ROLL_UP_NEW, "write");
    log(`  hourly rollup built or brought up to date in ${Math.round(performance.now() - started)} ms`);
  } finally {
    writer.close();
  }
  const last = periodOf("month", h.to);
  const before = periodOf("month", addDays(last.from, -1));
  const month = last.to === h.to || before.from < h.from ? last : before;

  const db = await openDatabase({ url: `file:${h.path}`, queryOnly: true });
  const hoursReadMs: number[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await hoursOfDay(db.db, month.from, month.to, timeZone);
      if (i > 0) hoursReadMs.push(performance.now() - started);
    }
  } finally {
    db.close();
  }

  const [port] = await freeLoopbackPorts(1);
  const viewer = await spawnListening(deployedArguments("resource-share-web.service"), {
    env: { WEB_PORT: String(port), WEB_HOST: "127.0.0.1", DATABASE_URL: `file:${h.path}`, RESOURCE_SHARE_TZ: timeZone, LOG_LEVEL: "info" },
    keepOutput: false,
    logFile: `${h.path}.reports-viewer.log`,
    timeoutMs: 60_000,
  });
  try {
    const url = `${viewer.url}/reports/month?of=${month.from}`;
    for (let i = 0; i < 2; i++) await timedGet(url);
    const monthPageMs: number[] = [];
    for (let i = 0; i < 7; i++) monthPageMs.push(await timedGet(url));
    log(`  month ${month.label} (${h.agents.length} agents): page median ${median(monthPageMs).toFixed(0)} ms, of which the hourly read alone ${median(hoursReadMs).toFixed(0)} ms`);
    return { month: month.label, monthPageMs, hoursReadMs };
  } finally {
    await viewer.stop();
  }
}
