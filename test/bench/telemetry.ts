import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { closeDay } from "../../functions/closeDays.ts";
import { compareDays } from "../../functions/telemetry/compare.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { migrate } from "../../shared/migrations.ts";
import { dayBounds } from "../../shared/time.ts";
import { costMetric, otlpExport, tokenMetric } from "../support/otlp.ts";
import { familyBodies, startWebhook } from "./ingest.ts";
import { load, type LoadResult } from "./load.ts";
import type { Figure } from "./table.ts";

/**
 * Claude Code's telemetry (POST /v1/metrics, docs/telemetry.md):
 * - the endpoint under load: Claude Code-shaped exports (5 points each,
 *   delta) from 10 connections, on the webhook as deployed;
 * - reports while exports arrive: the report load at 10 connections, alone
 *   and with an export load at 1 connection beside it (20 agents export
 *   once a minute; this is thousands of times that);
 * - the nightly comparison of one day of 20 agents (an export a minute
 *   each all day: 144,000 points, and 57,600 reports), beside closing
 *   the same day.
 * `node --import tsx test/bench/telemetry.ts [--seconds=N]` runs it alone.
 */
export interface TelemetryBenchOptions {
  seconds: number;
  seed: number;
}

export interface TelemetryResults {
  exports: LoadResult;
  reportsAlone: LoadResult;
  reportsWithExports: LoadResult;
  exportsBeside: LoadResult;
  compareMs: number;
  closeMs: number;
  points: number;
}

const AGENTS = 20;
const ZONE = "Europe/Berlin";
const DAY = "2026-11-20";

/** `n` exports, each an agent's minute: 4 token classes and the cost, delta, at times no other export has. */
function exportBodies(n: number): string[] {
  const base = BigInt(Date.parse("2026-11-20T08:00:00Z")) * 1_000_000n;
  return Array.from({ length: n }, (_, i) => {
    const time = base + BigInt(i) * 60_000_000_000n;
    const model = i % 3 === 0 ? "claude-opus-4-1" : "claude-sonnet-4-5";
    return JSON.stringify(
      otlpExport(`Agent-${i % AGENTS}`, [
        tokenMetric(1, ["input", "output", "cacheRead", "cacheCreation"].map((type, k) => ({ time, value: 100 * (k + 1) + (i % 97), type, model }))),
        costMetric(1, [{ time, value: 0.01 + (i % 13) / 1000, model }]),
      ]),
    );
  });
}

export async function benchTelemetry(o: TelemetryBenchOptions, log: (line: string) => void): Promise<{ figures: Figure[]; raw: TelemetryResults }> {
  const dir = mkdtempSync(join(tmpdir(), "rs-bench-telemetry-"));
  try {
    const path = join(dir, "telemetry.db");
    const webhook = await startWebhook({ DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: ZONE }, `${path}.log`);
    let loads: Pick<TelemetryResults, "exports" | "reportsAlone" | "reportsWithExports" | "exportsBeside">;
    try {
      const pid = webhook.child.pid!;
      const exports = exportBodies(20_000);
      const reports = familyBodies(o.seed);
      const at = (url: string) => ({ url, pid, seconds: o.seconds });
      await load({ ...at(webhook.url), path: "/resource-share/increment", bodies: reports, connections: 10, seconds: 1 });
      const exportsAlone = await load({ ...at(webhook.url), path: "/v1/metrics", bodies: exports, connections: 10 });
      log(`  /v1/metrics at 10 connections: ${exportsAlone.reqPerSec.toFixed(0)} exports/s, p99 ${exportsAlone.p99Ms.toFixed(2)} ms`);
      const reportsAlone = await load({ ...at(webhook.url), path: "/resource-share/increment", bodies: reports, connections: 10 });
      // The exports beside reuse the bodies from where the first load left off: new points, not repeats.
      const beside = exports.slice(exportsAlone.requests + 10);
      const [reportsWithExports, exportsBeside] = await Promise.all([
        load({ ...at(webhook.url), path: "/resource-share/increment", bodies: reports, connections: 10 }),
        load({ ...at(webhook.url), path: "/v1/metrics", bodies: beside, connections: 1 }),
      ]);
      log(`  reports at 10 connections: ${reportsAlone.reqPerSec.toFixed(0)} req/s, p99 ${reportsAlone.p99Ms.toFixed(2)} ms alone; ` +
        `${reportsWithExports.reqPerSec.toFixed(0)} req/s, p99 ${reportsWithExports.p99Ms.toFixed(2)} ms beside ${exportsBeside.reqPerSec.toFixed(0)} exports/s`);
      loads = { exports: exportsAlone, reportsAlone, reportsWithExports, exportsBeside };
    } finally {
      await webhook.stop();
    }
    const nightly = await benchComparison(join(dir, "day.db"));
    log(`  nightly comparison of ${DAY}, ${AGENTS} agents, ${nightly.points} points: ${nightly.compareMs.toFixed(0)} ms (closing the day: ${nightly.closeMs.toFixed(0)} ms)`);
    const raw: TelemetryResults = { ...loads, ...nightly };
    const failed = (r: LoadResult) => Object.values(r.failures).reduce((a, b) => a + b, 0) + r.errors;
    const slowdown = raw.reportsWithExports.p99Ms / raw.reportsAlone.p99Ms;
    return {
      raw,
      figures: [
        { name: "/v1/metrics exports/s, 10 conn.", value: raw.exports.reqPerSec, unit: "req/s", reference: "(info)", referenceValue: Number.NaN, ratio: Number.NaN, target: `(info) p99 ${raw.exports.p99Ms.toFixed(2)} ms, ${failed(raw.exports)} failed`, met: null },
        { name: "report p99 beside exports", value: raw.reportsWithExports.p99Ms, unit: "ms", reference: "reports alone", referenceValue: raw.reportsAlone.p99Ms, ratio: slowdown, target: `(info) ${raw.exportsBeside.reqPerSec.toFixed(0)} exports/s beside`, met: null },
        { name: `nightly comparison, ${AGENTS} agents, a day`, value: raw.compareMs, unit: "ms", reference: "closing the same day", referenceValue: raw.closeMs, ratio: raw.compareMs / raw.closeMs, target: "(info)", met: null },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A day of 20 agents' reports (every 30 s) and telemetry (an export a minute, 5 points), made by SQL; then the day closed, then compared. */
export async function benchComparison(path: string): Promise<Pick<TelemetryResults, "compareMs" | "closeMs" | "points">> {
  const database = await openDatabase({ url: `file:${path}` });
  try {
    await migrate(database.client);
    const { start } = dayBounds(DAY, ZONE);
    const db = database.db;
    await db.batch(
      [
        {
          sql: `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${AGENTS * 2880 - 1})
            INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta)
            SELECT 'Agent-' || (i % ${AGENTS}), strftime('%Y-%m-%dT%H:%M:%fZ', (? + (i / ${AGENTS}) * 30000) / 1000.0, 'unixepoch'), 'autonomy', 1000 + i % 7, 0.01 FROM n`,
          args: [start],
        },
        {
          sql: `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${AGENTS * 1440 * 5 - 1})
            INSERT INTO telemetry_points (claude_name, time, time_ms, date, metric, type, model, value, series_key, time_unix_nano, received_at)
            SELECT 'Agent-' || (i / 5 % ${AGENTS}), '', ? + (i / 5 / ${AGENTS}) * 60000, ?, CASE WHEN i % 5 = 4 THEN 'claude_code.cost.usage' ELSE 'claude_code.token.usage' END,
              CASE i % 5 WHEN 0 THEN 'input' WHEN 1 THEN 'output' WHEN 2 THEN 'cacheRead' WHEN 3 THEN 'cacheCreation' END, 'claude-sonnet-4-5',
              CASE WHEN i % 5 = 4 THEN 0.02 ELSE 2000 END, 'series-' || (i / 5 % ${AGENTS}) || '-' || (i % 5), CAST(i AS TEXT), '' FROM n`,
          args: [start, DAY],
        },
      ],
      "write",
    );
    const points = Number((await db.execute("SELECT count(*) AS n FROM telemetry_points")).rows[0]!.n);
    let t = performance.now();
    await closeDay(db, DAY, ZONE, new Date().toISOString());
    const closeMs = performance.now() - t;
    t = performance.now();
    await compareDays(db, [DAY], ZONE, 5, new Date().toISOString());
    const compareMs = performance.now() - t;
    return { compareMs, closeMs, points };
  } finally {
    database.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const seconds = Number(/^--seconds=(\d+)$/.exec(process.argv[2] ?? "")?.[1] ?? 5);
  benchTelemetry({ seconds, seed: 20261128 }, (line) => process.stderr.write(`${line}\n`))
    .then(({ raw }) => process.stdout.write(`${JSON.stringify({ ...raw, exports: summary(raw.exports), reportsAlone: summary(raw.reportsAlone), reportsWithExports: summary(raw.reportsWithExports), exportsBeside: summary(raw.exportsBeside) }, null, 2)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(2);
    });
}

function summary(r: LoadResult) {
  return { reqPerSec: Math.round(r.reqPerSec), p50Ms: r.p50Ms, p99Ms: r.p99Ms, ok: r.ok, failures: r.failures, errors: r.errors, cpuMsPerRequest: r.cpuMsPerRequest };
}
