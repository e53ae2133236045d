import type { Db, Transaction } from "./libsql.ts";
import { ROLLUP_SCHEMA } from "./schema.ts";

/**
 * The write side of the hourly rollup (usage_hourly, shared/schema.ts):
 * what each commit of reports adds to it, and the build of a database that
 * has reports but no rollup yet. The read side is functions/usage.ts.
 */

export const HOUR_MS = 3_600_000;

/** The UTC hour a report's time falls in, as SQL over timestamp_ms: a floor, also right before 1970. */
export const HOUR_OF = `(timestamp_ms - ((timestamp_ms % ${HOUR_MS}) + ${HOUR_MS}) % ${HOUR_MS})`;

/**
 * Adds the reports `where` selects to the rollup, grouped first: one upsert
 * per hour, agent and mode, not one per report. Costs are added without
 * losing a bit: a group's rounded sum `hi` goes into `cost`, and what that
 * rounding left out (total() of the group's costs and -hi, which SQLite's
 * compensated summation gives accurately) plus what adding `hi` to `cost`
 * rounds off (Knuth's TwoSum, exact in IEEE doubles) into `cost_residual`.
 * So a day read from its hours (functions/usage.ts sums both with one
 * total(), as the day's reports are summed) gives the reports' own total to
 * the last bit, which a plain running sum missed by a unit in the last place
 * on a day of many priced reports. Reports without a readable time
 * (timestamp_ms NULL) belong to no hour, as to no day.
 */
export const rollUp = (where: string): string => `INSERT INTO usage_hourly (hour_ms, claude_name, mode, tokens, cost, reports, cost_residual, max_id)
  WITH new AS MATERIALIZED (SELECT ${HOUR_OF} AS h, claude_name AS n, mode AS m, coalesce(cache_read_increment, 0) AS t, coalesce(cost_delta, 0.0) AS c, id
      FROM resource_share_increments WHERE ${where} AND timestamp_ms IS NOT NULL),
    g AS MATERIALIZED (SELECT h, n, m, sum(t) AS t, total(c) AS hi, count(*) AS r, max(id) AS i FROM new GROUP BY h, n, m),
    -- Only priced reports: most timers send no cost, and their groups have nothing to leave out.
    lo AS MATERIALIZED (SELECT h, n, m, total(v) AS lo FROM (SELECT h, n, m, c AS v FROM new WHERE c != 0 UNION ALL SELECT h, n, m, -hi FROM g WHERE hi != 0) GROUP BY h, n, m)
  SELECT g.h, g.n, g.m, g.t, g.hi, g.r, coalesce(lo.lo, 0.0), g.i FROM g LEFT JOIN lo ON lo.h = g.h AND lo.n = g.n AND lo.m = g.m WHERE true
  ON CONFLICT (hour_ms, claude_name, mode) DO UPDATE SET
    tokens = tokens + excluded.tokens, reports = reports + excluded.reports, max_id = max(max_id, excluded.max_id),
    cost = cost + excluded.cost,
    cost_residual = cost_residual + excluded.cost_residual
      + ((cost - ((cost + excluded.cost) - ((cost + excluded.cost) - cost))) + (excluded.cost - ((cost + excluded.cost) - cost)))`;

/**
 * Run by the webhook within a second after its commits
 * (runner/webhook/roll-up-behind.ts) and by checkRollups: rolls up every
 * report stored since the last run (by id, the primary key: a seek, then
 * the new rows); reads add the reports past the watermark meanwhile. Reports another program inserted (the
 * sqlite3 shell, the original system) are picked up by the next commit; a
 * repeat refused by its event id inserts no row, so it adds nothing.
 * AUTOINCREMENT ids only grow, and one writer commits at a time, so no
 * report can appear later below the watermark.
 */
export const ROLL_UP_NEW: string[] = [
  rollUp("id > (SELECT rolled_through_id FROM usage_hourly_state WHERE id = 1)"),
  `UPDATE usage_hourly_state SET rolled_through_id = max(rolled_through_id, (SELECT coalesce(max(id), 0) FROM resource_share_increments))
    WHERE id = 1`,
];

/**
 * (Re)starts the rollup empty: reports from here on are rolled up as they
 * are committed, those already stored are left for buildRollup. Migration 9
 * runs it; so does ensureRollup when a person dropped one of its tables.
 */
export async function startRollup(tx: Pick<Transaction, "execute">): Promise<void> {
  // Made afresh: what a person left of it is rebuilt anyway, in this version's shape.
  await tx.execute("DROP TABLE IF EXISTS usage_hourly");
  for (const sql of ROLLUP_SCHEMA) await tx.execute(sql);
  await tx.execute(`INSERT OR REPLACE INTO usage_hourly_state (id, rolled_through_id, built_through_id, build_until_id)
    SELECT 1, m, 0, m FROM (SELECT coalesce(max(id), 0) AS m FROM resource_share_increments)`);
}

const tableExists = async (db: Pick<Db, "execute">, name: string) =>
  (await db.execute({ sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", args: [name] })).rows.length > 0;

/**
 * A database whose rollup or its state table is missing (a person dropped
 * one) gets both made again, empty, to be built. Returns whether it did.
 */
export async function ensureRollup(db: Db): Promise<boolean> {
  if ((await tableExists(db, "usage_hourly")) && (await tableExists(db, "usage_hourly_state"))) return false;
  await restartRollup(db);
  return true;
}

/** startRollup in a transaction of its own: also how `runner copy` leaves the copy's rollup to be built. */
export async function restartRollup(db: Db): Promise<void> {
  const tx = await db.transaction("write");
  try {
    await startRollup(tx);
    await tx.commit();
  } finally {
    tx.close();
  }
}

export interface RollupProgress {
  /** Reports (by id) rolled up by the build so far, and up to which id it goes. */
  builtThroughId: number;
  buildUntilId: number;
}

/** Where the build stands; done when builtThroughId >= buildUntilId. */
export async function rollupProgress(db: Pick<Db, "execute">): Promise<RollupProgress> {
  const rs = await db.execute("SELECT built_through_id, build_until_id FROM usage_hourly_state WHERE id = 1");
  const row = rs.rows[0];
  if (!row) throw new Error("usage_hourly_state has no row: the hourly rollup was not set up (migration 9); restart the service to set it up again");
  return { builtThroughId: Number(row.built_through_id), buildUntilId: Number(row.build_until_id) };
}

export interface BuildOptions {
  /** Report ids per transaction: small enough that the webhook's writes wait a few tens of ms at most between them. */
  chunk?: number;
  /** Told after each chunk. */
  progress?: (p: RollupProgress) => void;
  /** Asked before each chunk; true stops the build (it resumes from its watermark next time). */
  stop?: () => boolean;
  /** Between chunks, so other writers get the lock: the runner passes a short sleep. */
  pause?: () => Promise<void>;
}

/**
 * Rolls up the reports stored before the rollup existed, in chunks of ids,
 * each chunk and its watermark committed together: stopped at any point,
 * the build resumes where it was, and no report is counted twice (the
 * watermark is read inside each chunk's write transaction, so two processes
 * building at once take turns, never the same chunk). Returns the progress
 * at the end.
 */
export async function buildRollup(db: Db, { chunk = 50_000, progress, stop, pause }: BuildOptions = {}): Promise<RollupProgress> {
  for (;;) {
    if (stop?.()) return rollupProgress(db);
    const tx = await db.transaction("write");
    let at: RollupProgress;
    try {
      at = await rollupProgress(tx);
      if (at.builtThroughId >= at.buildUntilId) return at;
      const next = Math.min(at.builtThroughId + chunk, at.buildUntilId);
      await tx.execute({ sql: rollUp("id > ? AND id <= ?"), args: [at.builtThroughId, next] });
      await tx.execute({ sql: "UPDATE usage_hourly_state SET built_through_id = ? WHERE id = 1", args: [next] });
      await tx.commit();
      at = { ...at, builtThroughId: next };
    } finally {
      tx.close();
    }
    progress?.(at);
    await pause?.();
  }
}
