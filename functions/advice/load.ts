import { DEFAULT_ADVICE, lastWeeklyReset, workingSeconds, type AdviceSettings, type Budget } from "../../shared/advice-settings.ts";
import type { Db, HandlerConfig } from "../../shared/context.ts";
import { parseInstant } from "../quota/observation.ts";
import { windowLengthMs, type AgentState, type FamilyState, type WindowState } from "./state.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The span an agent's cost per prompt is measured over. */
const COST_SPAN = 12 * HOUR;
/** Readings of a window whose resets differ by less than this belong to the same period (scrapers round). */
const SAME_PERIOD_MS = 10 * 60_000;

export const settingsOf = (config: HandlerConfig): AdviceSettings => config.advice ?? DEFAULT_ADVICE;

/** "2026-01-02T03:04:05.678Z" or the original system's "2026-01-02 03:04:05" (UTC), as Unix ms. */
export function storedTime(text: unknown): number | null {
  if (typeof text !== "string" || text === "") return null;
  const ms = Date.parse(/[zZ]|[+-]\d{2}:\d{2}$/.test(text) ? text : `${text.replace(" ", "T")}Z`);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Loads the family's state at `now` with a handful of aggregate queries over
 * the last 7 days of reports, the agents' settings and the quota readings.
 */
export async function loadFamilyState(db: Db, now: number, config: HandlerConfig): Promise<FamilyState> {
  const settings = settingsOf(config);
  const agents = await loadAgents(db, now);
  const family = await db.execute({
    sql: `SELECT total(CASE WHEN mode = 'collaboration' THEN cache_read_increment END) AS collab, total(cache_read_increment) AS tokens, total(cost_delta) AS cost
      FROM resource_share_increments WHERE timestamp_ms > ? AND timestamp_ms <= ?`,
    args: [now - 7 * DAY, now],
  });
  const f = family.rows[0]!;
  const worked = workingSeconds(now - 7 * DAY, now, settings.workHours, config.timeZone);
  const tokensPerUsd = Number(f.cost) > 0 ? Number(f.tokens) / Number(f.cost) : null;
  return {
    loadedAt: now,
    settings,
    agents,
    windows: await loadWindows(db, now, settings, config.timeZone, tokensPerUsd),
    humanTokensPerWorkingSecond: worked > 0 ? Number(f.collab) / worked : 0,
  };
}

async function loadAgents(db: Db, now: number): Promise<AgentState[]> {
  const [identities, usage, costs] = await db.batch(
    [
      "SELECT name, weight, paused_until, active, last_seen FROM claude_identities",
      {
        sql: `SELECT claude_name AS name,
            total(CASE WHEN timestamp_ms > ? THEN cache_read_increment END) AS auto2h,
            total(CASE WHEN timestamp_ms > ? THEN cache_read_increment END) AS auto24h,
            total(cache_read_increment) AS auto7d
          FROM resource_share_increments
          WHERE mode = 'autonomy' AND timestamp_ms > ? AND timestamp_ms <= ? GROUP BY claude_name`,
        args: [now - 2 * HOUR, now - DAY, now - 7 * DAY, now],
      },
      // Each autonomous report's advised interval covers the time to the
      // next one, whose tokens it paid for: the prompts in that gap are the
      // gap over the interval. A gap longer than twice the interval is an
      // agent that stopped (asleep, with its human) and counts as two.
      {
        sql: `SELECT claude_name AS name, total(next_tokens) AS tokens, total(min(gap, 2.0 * ri) / ri) AS prompts FROM (
            SELECT claude_name, recommended_interval AS ri,
              lead(cache_read_increment) OVER agent AS next_tokens,
              (lead(timestamp_ms) OVER agent - timestamp_ms) / 1000.0 AS gap
            FROM resource_share_increments
            WHERE mode = 'autonomy' AND timestamp_ms > ? AND timestamp_ms <= ?
            WINDOW agent AS (PARTITION BY claude_name ORDER BY timestamp_ms, id))
          WHERE ri > 0 AND gap IS NOT NULL GROUP BY claude_name`,
        args: [now - COST_SPAN, now],
      },
    ],
    "read",
  );
  const used = new Map(usage!.rows.map((r) => [String(r.name), r]));
  const cost = new Map(costs!.rows.map((r) => [String(r.name), Number(r.prompts) >= 1 ? Number(r.tokens) / Number(r.prompts) : null]));
  return identities!.rows.map((r) => {
    const name = String(r.name);
    const u = used.get(name);
    const weight = Number(r.weight);
    return {
      name,
      weight: Number.isFinite(weight) && weight > 0 ? weight : 1,
      pausedUntil: storedTime(r.paused_until),
      active: Number(r.active) !== 0,
      lastSeen: storedTime(r.last_seen),
      auto2h: Number(u?.auto2h ?? 0),
      auto24h: Number(u?.auto24h ?? 0),
      auto7d: Number(u?.auto7d ?? 0),
      costPerPrompt: cost.get(name) ?? null,
    };
  });
}

interface Reading {
  window: string;
  percent: number;
  observedAt: number;
  resetsAt: number;
  source: string;
}

/** The valid readings of the last 8 days, newest first: quota_observations and, where it exists, the seed's quota_info. */
async function loadReadings(db: Db, now: number): Promise<Reading[]> {
  const since = new Date(now - 8 * DAY).toISOString();
  const nowIso = new Date(now).toISOString();
  const observed = await db.execute({
    sql: `SELECT window, used_percentage, observed_at, resets_at, source FROM quota_observations
      WHERE observed_at > ? AND observed_at <= ? AND resets_at > ? ORDER BY observed_at DESC LIMIT 5000`,
    args: [since, nowIso, nowIso],
  });
  const readings: Reading[] = observed.rows.map((r) => ({
    window: String(r.window),
    percent: Number(r.used_percentage),
    observedAt: storedTime(r.observed_at)!,
    resetsAt: storedTime(r.resets_at)!,
    source: String(r.source),
  }));
  readings.push(...(await loadQuotaInfo(db, now)));
  return readings.filter((r) => r.observedAt <= now && r.resetsAt > now).sort((a, b) => b.observedAt - a.observedAt);
}

/**
 * The seed's `quota_info (timestamp, session_5hour, week_all, week_sonnet,
 * session_5hour_reset, week_reset)`, read as the cron job writes it. A reset
 * is ISO-8601 or epoch seconds; a row without a usable one is skipped.
 */
async function loadQuotaInfo(db: Db, now: number): Promise<Reading[]> {
  const exists = await db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'quota_info'");
  if (exists.rows.length === 0) return [];
  // Every 30 minutes: 400 rows are the last 8 days.
  const rows = await db.execute("SELECT * FROM quota_info ORDER BY timestamp DESC LIMIT 400");
  const readings: Reading[] = [];
  const reset = (x: unknown) => {
    const n = typeof x === "string" && /^\d+(\.\d+)?$/.test(x.trim()) ? Number(x) : x;
    return parseInstant(n) ?? (typeof n === "string" ? storedTime(n) : null);
  };
  for (const r of rows.rows) {
    const at = storedTime(r.timestamp);
    if (at === null || at < now - 8 * DAY) continue;
    const add = (window: string, percent: unknown, resets: unknown) => {
      const p = Number(percent);
      const resetsAt = reset(resets);
      if (percent !== null && Number.isFinite(p) && p >= 0 && p <= 100 && resetsAt !== null)
        readings.push({ window, percent: p, observedAt: at, resetsAt, source: "quota_info" });
    };
    add("five_hour", r.session_5hour, r.session_5hour_reset);
    add("seven_day", r.week_all, r.week_reset);
    add("seven_day_sonnet", r.week_sonnet, r.week_reset);
  }
  return readings;
}

/** A span of reports to sum: (from, to]. */
type Span = [number, number];

async function familyTokens(db: Db, spans: Span[]): Promise<number[]> {
  if (spans.length === 0) return [];
  const rs = await db.execute({
    sql: `SELECT ${spans.map((_, i) => `total(CASE WHEN timestamp_ms > ? AND timestamp_ms <= ? THEN cache_read_increment END) AS s${i}`).join(", ")}
      FROM resource_share_increments WHERE timestamp_ms > ? AND timestamp_ms <= ?`,
    args: [...spans.flat(), Math.min(...spans.map((s) => s[0])), Math.max(...spans.map((s) => s[1]))],
  });
  return spans.map((_, i) => Number(rs.rows[0]![`s${i}`]));
}

/**
 * Each window's last reading, with the family's tokens since and how many
 * tokens make a percentage point (k): from two readings of the same period
 * (the tokens between them over the points they moved), else from the
 * budget, else from the usage since the window opened over its %. Windows
 * with a budget and no reading are estimated from the budget alone.
 */
async function loadWindows(db: Db, now: number, settings: AdviceSettings, timeZone: string, tokensPerUsd: number | null): Promise<WindowState[]> {
  const readings = await loadReadings(db, now);
  const latest = new Map<string, { last: Reading; first: Reading }>();
  for (const r of readings) {
    const seen = latest.get(r.window);
    if (!seen) latest.set(r.window, { last: r, first: r });
    else if (Math.abs(r.resetsAt - seen.last.resetsAt) < SAME_PERIOD_MS) seen.first = r;
  }
  const budgets = new Map(settings.budgets.map((b) => [b.window, b]));
  const budgetTokens = (b: Budget | undefined) => (!b ? null : b.unit === "tokens" ? b.amount : tokensPerUsd === null ? null : b.amount * tokensPerUsd);

  const spans: Span[] = [];
  const span = (from: number, to: number) => spans.push([from, Math.max(from, to)]) - 1;
  const plans = [...latest.values()].map(({ last, first }) => ({
    last,
    first,
    since: span(last.observedAt, now),
    between: span(first.observedAt, last.observedAt),
    opened: span(last.resetsAt - windowLengthMs(last.window), last.observedAt),
  }));
  const budgetOnly = await budgetPeriods(db, now, settings, timeZone, [...budgets.values()].filter((b) => !latest.has(b.window)));
  const budgetSpans = budgetOnly.map((b) => span(b.start, now));
  const sums = await familyTokens(db, spans);

  const windows: WindowState[] = plans.map(({ last, first, since, between, opened }) => {
    const moved = last.percent - first.percent;
    const budget = budgetTokens(budgets.get(last.window));
    const k =
      moved >= 2 && sums[between]! > 0
        ? sums[between]! / moved
        : budget !== null
          ? budget / 100
          : last.percent >= 2 && sums[opened]! > 0
            ? sums[opened]! / last.percent
            : null;
    return {
      window: last.window,
      percent: last.percent,
      observedAt: last.observedAt,
      resetsAt: last.resetsAt,
      source: last.source,
      fromBudget: false,
      tokensSince: sums[since]!,
      tokensPerPercent: k !== null && k > 0 ? k : null,
      workingSecondsLeft: workingSeconds(now, last.resetsAt, settings.workHours, timeZone),
    };
  });
  budgetOnly.forEach((b, i) => {
    const total = budgetTokens(b.budget);
    if (total === null) return; // a USD budget before any report carried a cost
    windows.push({
      window: b.budget.window,
      percent: Math.min(100, (sums[budgetSpans[i]!]! / total) * 100),
      observedAt: now,
      resetsAt: b.resetsAt,
      source: "budget",
      fromBudget: true,
      tokensSince: 0,
      tokensPerPercent: total / 100,
      workingSecondsLeft: workingSeconds(now, b.resetsAt, settings.workHours, timeZone),
    });
  });
  return windows;
}

/**
 * The current period of each budgeted window: a weekly one from its
 * configured reset; the 5-hour one from the first report of the last five
 * hours (Claude's session window opens with the first message).
 */
async function budgetPeriods(db: Db, now: number, settings: AdviceSettings, timeZone: string, budgets: Budget[]) {
  const periods: { budget: Budget; start: number; resetsAt: number }[] = [];
  for (const budget of budgets) {
    if (budget.window === "five_hour") {
      const rs = await db.execute({ sql: "SELECT min(timestamp_ms) AS first FROM resource_share_increments WHERE timestamp_ms > ? AND timestamp_ms <= ?", args: [now - 5 * HOUR, now] });
      const first = rs.rows[0]?.first;
      const start = first === null || first === undefined ? now : Number(first) - 1;
      periods.push({ budget, start, resetsAt: start + 5 * HOUR });
    } else {
      const start = lastWeeklyReset(now, settings.weeklyReset, timeZone);
      periods.push({ budget, start, resetsAt: start + 7 * DAY });
    }
  }
  return periods;
}

/** The state a handler advises from: the one its runner keeps in memory, or loaded now. */
export function familyStateOf(ctx: { db: Db; now: () => Date; config: HandlerConfig; familyState?: () => Promise<FamilyState> }): Promise<FamilyState> {
  return ctx.familyState ? ctx.familyState() : loadFamilyState(ctx.db, ctx.now().getTime(), ctx.config);
}
