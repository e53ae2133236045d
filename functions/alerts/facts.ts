import type { Db, HandlerConfig } from "../../shared/context.ts";
import { DEFAULT_ADVICE } from "../../shared/advice-settings.ts";
import { addDays, dayBounds, localDay } from "../../shared/time.ts";
import { BUCKET_MS, type Ledger } from "../advice/ledger.ts";
import { loadFamilyState } from "../advice/load.ts";
import { advise } from "../advice/policy.ts";
import { windowsNow } from "../advice/windows.ts";
import { disagreeingDays } from "../telemetry/compare.ts";
import { DISAGREEMENT_DAYS, MIN_HISTORY_HOURS, type AgentFacts, type Facts, type ServiceFacts, type WindowFacts } from "./rules.ts";

const HOUR = 3_600_000;
/** The daily catch-up runs at local midnight; a day not closed this long after is an alert. */
export const CLOSE_GRACE_MS = 2 * HOUR;

/**
 * Everything the rules read, at `now`. The family's usage comes from the
 * advice's ledger (5-minute buckets over the last week, kept in memory by a
 * long-running evaluator and brought up to date with the reports stored
 * since), the windows and their projection from the advice's own state and
 * policy, so an alert and the advice never disagree about a window.
 */
export async function loadFacts(db: Db, now: number, config: HandlerConfig, ledger: Ledger, service: ServiceFacts | undefined): Promise<Facts> {
  const state = await loadFamilyState(db, now, config, ledger);
  const [intervals, largest] = await Promise.all([lastIntervals(db, state.agents.map((a) => a.name)), largestReports(db, now)]);

  const agents: AgentFacts[] = state.agents.map((a) => {
    const usage = ledger.agents.get(a.name);
    const { lastHour, normalHour } = usage ? hours([usage.auto, usage.collab], now) : { lastHour: 0, normalHour: null };
    // While the marks catch up, nothing counts as "before": the rule waits (MIN_REPORTS).
    const big = largest?.get(a.name);
    return {
      name: a.name,
      active: a.active,
      pausedUntil: a.pausedUntil,
      lastSeen: a.lastSeen,
      lastInterval: intervals.get(a.name) ?? null,
      lastHour,
      normalHour,
      largestNew: big?.recent ?? 0,
      largestNewAt: big?.recentAt ?? null,
      largestBefore: big?.before ?? 0,
      reportsBefore: big?.reports ?? 0,
    };
  });

  // The projection is the policy's own (projected_at_reset): it does not depend on which agent asks.
  const projections = state.agents.length > 0 ? advise(state, state.agents[0]!.name, now).advice.windows : [];
  const windows: WindowFacts[] = windowsNow(state, now).map((w) => ({
    window: w.window,
    percent: w.used_percentage,
    estimated: w.estimated,
    resetsAt: w.resets_at,
    projected: projections.find((p) => p.window === w.window)?.projected_at_reset ?? null,
  }));

  return {
    now,
    agents,
    windows,
    ...(service ? { service } : {}),
    unclosedDay: await unclosedDay(db, now, config.timeZone),
    defaultInterval: (config.advice ?? DEFAULT_ADVICE).baseInterval,
    disagreeingDays: await disagreeingDays(db, { from: addDays(localDay(now, config.timeZone), -DISAGREEMENT_DAYS) }),
  };
}

/**
 * An agent's last hour, and its usual hour: the mean of the hours it
 * worked (any tokens) over the week before, so a verbose agent's normal
 * is its own. Null with fewer than MIN_HISTORY_HOURS such hours.
 */
function hours(maps: Map<number, number>[], now: number): { lastHour: number; normalHour: number | null } {
  const from = Math.floor((now - HOUR) / BUCKET_MS);
  const perHour = new Map<number, number>();
  let lastHour = 0;
  for (const m of maps)
    for (const [bucket, tokens] of m) {
      if (bucket >= from) lastHour += tokens;
      else perHour.set(Math.floor((bucket * BUCKET_MS) / HOUR), (perHour.get(Math.floor((bucket * BUCKET_MS) / HOUR)) ?? 0) + tokens);
    }
  let worked = 0;
  let total = 0;
  for (const [hour, tokens] of perHour)
    if (tokens > 0 && hour * HOUR >= now - 7 * 24 * HOUR) {
      worked++;
      total += tokens;
    }
  return { lastHour, normalHour: worked >= MIN_HISTORY_HOURS ? total / worked : null };
}

/** The recommended_interval stored with each agent's last report (one index seek per agent). */
async function lastIntervals(db: Db, names: string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rs = await db.batch(
    names.map((name) => ({
      sql: "SELECT recommended_interval AS i FROM resource_share_increments WHERE claude_name = ? ORDER BY timestamp_ms DESC LIMIT 1",
      args: [name],
    })),
    "read",
  );
  const out = new Map<string, number>();
  names.forEach((name, i) => {
    const v = rs[i]!.rows[0]?.i;
    if (v !== null && v !== undefined && Number(v) > 0) out.set(name, Number(v));
  });
  return out;
}

/** "Larger than any before" looks back this far at first (the ledger's week), then keeps every report since. */
export const MARKS_LOOKBACK_MS = 7 * 24 * HOUR;
/** The first look back is read in slices this long, one per round: a round stays short on a big family. */
export const MARKS_SLICE_MS = 6 * HOUR;

interface Largest {
  recent: number;
  recentAt: string | null;
  before: number;
  reports: number;
}

/**
 * Per agent: its largest report of the last hour, and the largest before
 * (alert_marks, brought up towards an hour ago by at most MARKS_SLICE_MS
 * a round). Null while the marks are still catching up with the look back:
 * a largest-before read from part of it could call an ordinary report
 * unusual. Losing this write only means reading those reports again.
 */
async function largestReports(db: Db, now: number): Promise<Map<string, Largest> | null> {
  const cutoff = now - HOUR;
  const state = await db.execute({
    sql: `SELECT s.marked_through_ms AS ms,
            (SELECT min(timestamp_ms) FROM resource_share_increments WHERE timestamp_ms > max(s.marked_through_ms, ?)) AS next
          FROM alert_state AS s WHERE id = 1`,
    args: [cutoff - MARKS_LOOKBACK_MS],
  });
  const row = state.rows[0];
  // Time without reports is skipped (one index seek): a quiet family catches up at once.
  const next = row?.next === null || row?.next === undefined ? cutoff : Number(row.next) - 1;
  const through = Math.max(Number(row?.ms ?? 0), cutoff - MARKS_LOOKBACK_MS, Math.min(next, cutoff));
  const upTo = Math.min(cutoff, through + MARKS_SLICE_MS);
  if (upTo > through) {
    // By time (its index); a report stored late for an instant already passed is not looked at.
    await db.batch(
      [
        {
          sql: `INSERT INTO alert_marks (claude_name, largest_report, reports)
                SELECT claude_name, max(cache_read_increment), count(*) FROM resource_share_increments
                 WHERE timestamp_ms > ? AND timestamp_ms <= ? GROUP BY claude_name
                ON CONFLICT (claude_name) DO UPDATE SET largest_report = max(largest_report, excluded.largest_report), reports = reports + excluded.reports`,
          args: [through, upTo],
        },
        { sql: "UPDATE alert_state SET marked_through_ms = ? WHERE id = 1", args: [upTo] },
      ],
      "write",
    );
  }
  if (upTo < cutoff) return null;
  const [recent, marks] = await db.batch(
    [
      {
        sql: `SELECT claude_name, max(cache_read_increment) AS largest, max(timestamp) AS at FROM resource_share_increments
               WHERE timestamp_ms > ? AND timestamp_ms <= ? GROUP BY claude_name`,
        args: [cutoff, now],
      },
      "SELECT claude_name, largest_report, reports FROM alert_marks",
    ],
    "read",
  );
  const out = new Map<string, Largest>();
  for (const r of marks!.rows) out.set(String(r.claude_name), { recent: 0, recentAt: null, before: Number(r.largest_report), reports: Number(r.reports) });
  for (const r of recent!.rows) {
    const name = String(r.claude_name);
    const entry = out.get(name) ?? { recent: 0, recentAt: null, before: 0, reports: 0 };
    entry.recent = Number(r.largest);
    entry.recentAt = r.at === null ? null : String(r.at);
    out.set(name, entry);
  }
  return out;
}

/** Yesterday (local), when it had reports, is not closed, and the catch-up has had CLOSE_GRACE_MS since midnight. */
async function unclosedDay(db: Db, now: number, timeZone: string): Promise<string | null> {
  const today = localDay(now, timeZone);
  const midnight = dayBounds(today, timeZone).start;
  if (now < midnight + CLOSE_GRACE_MS) return null;
  const yesterday = addDays(today, -1);
  const { start, end } = dayBounds(yesterday, timeZone);
  const rs = await db.execute({
    sql: `SELECT EXISTS (SELECT 1 FROM resource_share_increments WHERE timestamp_ms >= ? AND timestamp_ms < ?) AS had,
                 EXISTS (SELECT 1 FROM closed_days WHERE date = ? AND time_zone = ?) AS closed`,
    args: [start, end, yesterday, timeZone],
  });
  const r = rs.rows[0]!;
  return Number(r.had) === 1 && Number(r.closed) === 0 ? yesterday : null;
}
