/**
 * How many (hour, agent, mode) rows of usage_hourly differ from the sums of
 * the reports, counted by the shell's own SQL, written apart from the
 * service's (shared/rollup.ts, functions/checkRollups.ts): each rollup row
 * counted plus, each report minus; whatever does not cancel out differs.
 * Costs are floating-point sums in another order: equal within 1e-9 USD.
 */
export const ROLLUP_DIFFERENCES_SQL = `SELECT count(*) AS differing FROM (
  SELECT hour_ms, claude_name, mode FROM (
    SELECT hour_ms, claude_name, mode, tokens AS t, reports AS r, cost AS c FROM usage_hourly
    UNION ALL
    SELECT timestamp_ms / 3600000 * 3600000, claude_name, mode, -cache_read_increment, -1, -coalesce(cost_delta, 0)
      FROM resource_share_increments WHERE timestamp_ms IS NOT NULL)
  GROUP BY hour_ms, claude_name, mode HAVING sum(t) != 0 OR sum(r) != 0 OR abs(total(c)) > 1e-9)`;
