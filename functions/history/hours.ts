import type { Db } from "../../shared/context.ts";
import { HOUR_MS } from "../../shared/rollup.ts";
import { addDays, dayStarts } from "../../shared/time.ts";
import { rollupReady, usageRowsStatement } from "../usage.ts";

/** An agent's tokens in one local hour of the day (0-23), summed over a period's days. */
export interface HourOfDay {
  claude_name: string;
  hour: number;
  autonomous_tokens: number;
  collaborative_tokens: number;
}

const QUARTER_MS = 900_000;

/**
 * Per agent, the tokens of each local hour of the day over the days
 * `from`..`to`, with one grouped query. In a zone whose days start on a
 * whole UTC hour it sums the hourly rollup (functions/usage.ts: a month is
 * some 744 rows an agent, not every report); in one that does not (India's,
 * Nepal's) a local hour straddles two UTC hours, so it groups the reports
 * by quarter hour instead. A local clock maps each UTC hour or quarter to
 * one local hour; the two 02:00 hours of an autumn night both count as 02.
 */
export async function hoursOfDay(db: Db, from: string, to: string, timeZone: string): Promise<HourOfDay[]> {
  const days: string[] = [];
  for (let d = from; d <= addDays(to, 1); d = addDays(d, 1)) days.push(d);
  const starts = dayStarts(days, timeZone);
  const start = starts[0]!;
  const end = starts[starts.length - 1]!;
  const bucket = starts.every((s) => s % HOUR_MS === 0) ? HOUR_MS : QUARTER_MS;
  const rs =
    bucket === HOUR_MS
      ? await byRollupHour(db, start, end)
      : await db.execute({
          sql: `SELECT claude_name, timestamp_ms / ${bucket} AS bucket,
        coalesce(sum(CASE WHEN mode = 'autonomy' THEN cache_read_increment END), 0) AS a,
        coalesce(sum(CASE WHEN mode = 'collaboration' THEN cache_read_increment END), 0) AS c
      FROM resource_share_increments WHERE timestamp_ms >= ? AND timestamp_ms < ? GROUP BY 1, 2`,
          // Bound as integers: a JS number would arrive as REAL and make the bucket fractional.
          args: [BigInt(start), BigInt(end)],
        });
  const clock = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "numeric", hourCycle: "h23" });
  const hourOf = new Map<number, number>();
  const byKey = new Map<string, HourOfDay>();
  for (const r of rs.rows) {
    const b = Number(r.bucket);
    let hour = hourOf.get(b);
    if (hour === undefined) hourOf.set(b, (hour = Number(clock.format(b * bucket))));
    const name = String(r.claude_name);
    const key = `${name}\u0000${hour}`;
    let slot = byKey.get(key);
    if (!slot) byKey.set(key, (slot = { claude_name: name, hour, autonomous_tokens: 0, collaborative_tokens: 0 }));
    slot.autonomous_tokens += Number(r.a);
    slot.collaborative_tokens += Number(r.c);
  }
  return [...byKey.values()];
}

/** The same rows (claude_name, bucket = UTC hour number, a, c) from the hourly rollup, for hour-aligned spans. */
async function byRollupHour(db: Db, start: number, end: number) {
  const { sql, args } = usageRowsStatement([{ key: 0, start, end }], await rollupReady(db), { cost: false });
  return db.execute({
    sql: `SELECT claude_name, hour_ms / ${HOUR_MS} AS bucket,
        coalesce(sum(CASE WHEN mode = 'autonomy' THEN tokens END), 0) AS a,
        coalesce(sum(CASE WHEN mode = 'collaboration' THEN tokens END), 0) AS c
      FROM (${sql}) GROUP BY 1, 2`,
    args,
  });
}
