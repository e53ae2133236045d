import type { Db } from "../shared/context.ts";
import type { InValue } from "../shared/libsql.ts";
import { HOUR_MS, HOUR_OF } from "../shared/rollup.ts";

/**
 * The one way the live reads sum usage: whole UTC hours from the hourly
 * rollup (usage_hourly), everything else from the reports themselves. A
 * span [start, end) that does not begin or end on a UTC hour (a local day in
 * a zone 30 or 45 minutes off UTC, a slot of such a day's chart, an ad hoc
 * range) has its partial hours at either end read from the reports; so do
 * reports not rolled up yet (id above the watermark: the last second's, or
 * those another program stored), and every report while the rollup is still
 * being built (shared/rollup.ts). The webhook rolls reports up within a
 * second of their commit, the open hour included; those past the watermark
 * meanwhile are read from the reports (the last part of the statement), so
 * the sums are exact at every moment. Why the open hour is not read from
 * the reports is in docs/performance.md.
 */

/** A period to sum, named by `key` in the rows that come back. */
export interface Span {
  key: string | number;
  start: number;
  end: number;
}

const ceilHour = (t: number) => Math.ceil(t / HOUR_MS) * HOUR_MS;
const floorHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

/** Whether the rollup holds every report up to its watermark; false while it is built, or if a person dropped it (reads then sum the reports). */
export async function rollupReady(db: Pick<Db, "execute">): Promise<boolean> {
  try {
    const rs = await db.execute("SELECT built_through_id >= build_until_id AS ready FROM usage_hourly_state WHERE id = 1");
    return Number(rs.rows[0]?.ready ?? 0) === 1;
  } catch (err) {
    if (/no such table/i.test((err as Error).message)) return false;
    throw err;
  }
}

/**
 * SQL for the usage rows of `spans`: (key, hour_ms, claude_name, mode,
 * tokens, cost, reports), a rollup row or a single report each; callers
 * group them as they need. Consecutive parts never overlap: rollup rows
 * hold reports up to the watermark in whole hours, the edges those up to it
 * in partial hours, the last part those above it anywhere in the spans.
 * `cost: false` is for callers that sum tokens only (charts, busiest
 * hours): the rows that carry only what rounding left out of an hour's
 * cost are then left out (a quarter of the rows on a day when many agents
 * send costs), so summing `cost` would then miss that part.
 * `agentsTogether` (with `cost: false`, for the whole family) sums each
 * whole hour's rollup rows over the agents first, in the rollup's key
 * order: one row per hour and mode, claude_name NULL, where a caller
 * grouping by hour would otherwise sort every agent's row.
 */
export function usageRowsStatement(
  spans: Span[],
  ready: boolean,
  { claudeName, cost = true, agentsTogether = false }: { claudeName?: string | undefined; cost?: boolean; agentsTogether?: boolean } = {},
): { sql: string; args: InValue[] } {
  if (agentsTogether && (cost || claudeName !== undefined)) throw new Error("agentsTogether sums tokens of the whole family: pass cost: false and no claudeName");
  const whole: InValue[] = [];
  const edges: InValue[] = [];
  const all: InValue[] = [];
  const piece = (into: InValue[], key: Span["key"], s: number, e: number) => {
    if (e > s) into.push(key, s, e);
  };
  for (const { key, start, end } of spans) {
    all.push(key, start, end);
    const [s, e] = [ceilHour(start), floorHour(end)];
    if (!ready || s >= e) piece(edges, key, start, end);
    else {
      piece(whole, key, s, e);
      piece(edges, key, start, s);
      piece(edges, key, e, end);
    }
  }
  const name: InValue[] = claudeName === undefined ? [] : [claudeName];
  const byName = (alias: string) => (claudeName === undefined ? "" : ` AND ${alias}.claude_name = ?`);
  const values = (name: string, list: InValue[]) =>
    `${name} (key, s, e) AS (VALUES ${Array.from({ length: list.length / 3 }, () => "(?, ?, ?)").join(", ")})`;
  const report = `x.key AS key, ${HOUR_OF.replaceAll("timestamp_ms", "i.timestamp_ms")} AS hour_ms, i.claude_name AS claude_name, i.mode AS mode,
        i.cache_read_increment AS tokens, i.cost_delta AS cost, 1 AS reports`;
  // Each with its arguments, in the order the SQL names them.
  const ctes: [string, InValue[]][] = [];
  const parts: [string, InValue[]][] = [];
  if (ready) ctes.push(["st (rolled) AS MATERIALIZED (SELECT rolled_through_id FROM usage_hourly_state WHERE id = 1)", []]);
  if (whole.length > 0 && agentsTogether) {
    // One scan per whole span, grouped by its hour: the rollup's key order, so no sort.
    const modes = "(SELECT 'autonomy' AS mode UNION ALL SELECT 'collaboration')";
    for (let i = 0; i < whole.length; i += 3)
      parts.push([`SELECT ? AS key, g.hour_ms AS hour_ms, NULL AS claude_name, m.mode AS mode, iif(m.mode = 'autonomy', g.a, g.c) AS tokens,
        0 AS cost, iif(m.mode = 'autonomy', g.ra, g.rc) AS reports
      FROM (SELECT hour_ms, sum(iif(mode = 'autonomy', tokens, 0)) AS a, sum(iif(mode = 'collaboration', tokens, 0)) AS c,
          sum(iif(mode = 'autonomy', reports, 0)) AS ra, sum(iif(mode = 'collaboration', reports, 0)) AS rc
        FROM usage_hourly WHERE hour_ms >= ? AND hour_ms < ? GROUP BY hour_ms) AS g CROSS JOIN ${modes} AS m`, whole.slice(i, i + 3)]);
  } else if (whole.length > 0) {
    ctes.push([values("whole", whole), whole]);
    parts.push([`SELECT w.key AS key, h.hour_ms AS hour_ms, h.claude_name AS claude_name, h.mode AS mode, h.tokens AS tokens, h.cost AS cost, h.reports AS reports
      FROM whole AS w JOIN usage_hourly AS h ON h.hour_ms >= w.s AND h.hour_ms < w.e${byName("h")}`, name]);
    // What rounding left out of each hour's cost, as rows of their own: one total() over both gives the reports' own sum.
    if (cost) parts.push([`SELECT w.key, h.hour_ms, h.claude_name, h.mode, 0, h.cost_residual, 0
      FROM whole AS w JOIN usage_hourly AS h ON h.hour_ms >= w.s AND h.hour_ms < w.e${byName("h")} AND h.cost_residual != 0`, name]);
  }
  if (edges.length > 0) {
    ctes.push([values("edge", edges), edges]);
    parts.push([`SELECT ${report}
      FROM edge AS x JOIN resource_share_increments AS i ON i.timestamp_ms >= x.s AND i.timestamp_ms < x.e${byName("i")}
      ${ready ? "WHERE i.id <= (SELECT rolled FROM st)" : ""}`, name]);
  }
  if (ready) {
    ctes.push([values("span", all), all]);
    // By id first (CROSS JOIN keeps that order, "+" keeps the time index out): the reports above the watermark are few.
    parts.push([`SELECT ${report}
      FROM resource_share_increments AS i CROSS JOIN span AS x ON +i.timestamp_ms >= x.s AND +i.timestamp_ms < x.e${byName("i")}
      WHERE i.id > (SELECT rolled FROM st)`, name]);
  }
  return {
    sql: `WITH ${ctes.map(([sql]) => sql).join(",\n  ")}\n${parts.map(([sql]) => sql).join("\n  UNION ALL\n  ")}`,
    args: [...ctes, ...parts].flatMap(([, args]) => args),
  };
}

export interface HourUsage {
  /** The UTC hour's first instant, Unix ms. */
  hour_ms: number;
  claude_name: string;
  mode: string;
  tokens: number;
  /** USD; 0 when no report carried a cost. */
  cost: number;
  reports: number;
}

/**
 * Usage per UTC hour, agent and mode over [fromMs, toMs): closed and open
 * hours alike from the rollup, partial hours at either end from the
 * reports. Hours without reports have no rows. For alerts, reports and
 * /metrics: sum what you need from these rows.
 */
export async function usageByHour(db: Pick<Db, "execute">, fromMs: number, toMs: number, claudeName?: string): Promise<HourUsage[]> {
  if (!(toMs > fromMs)) return [];
  const { sql, args } = usageRowsStatement([{ key: 0, start: fromMs, end: toMs }], await rollupReady(db), { claudeName });
  const rs = await db.execute({
    sql: `SELECT hour_ms, claude_name, mode, coalesce(sum(tokens), 0) AS tokens, total(cost) AS cost, sum(reports) AS reports
      FROM (${sql}) GROUP BY hour_ms, claude_name, mode ORDER BY hour_ms, claude_name, mode`,
    args,
  });
  return rs.rows.map((r) => ({
    hour_ms: Number(r.hour_ms),
    claude_name: String(r.claude_name),
    mode: String(r.mode),
    tokens: Number(r.tokens),
    cost: Number(r.cost),
    reports: Number(r.reports),
  }));
}
