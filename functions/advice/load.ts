import { DEFAULT_ADVICE, lastWeeklyReset, workingSeconds, type AdviceSettings, type Budget } from "../../shared/advice-settings.ts";
import type { Db, HandlerConfig } from "../../shared/context.ts";
import { parseInstant } from "../quota/observation.ts";
import { usableWeight } from "./fairness.ts";
import { absorb, BUCKET_MS, costPerPrompt, emptyLedger, sumBetween, type Ledger } from "./ledger.ts";
import { windowLengthMs, type AgentState, type FamilyState, type WindowState } from "./state.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Readings of a window whose resets differ by less than this belong to the same period (scrapers round). */
const SAME_PERIOD_MS = 10 * 60_000;

const settingsOf = (config: HandlerConfig): AdviceSettings => config.advice ?? DEFAULT_ADVICE;

/** "2026-01-02T03:04:05.678Z" or the original system's "2026-01-02 03:04:05" (UTC), as Unix ms. */
export function storedTime(text: unknown): number | null {
  if (typeof text !== "string" || text === "") return null;
  const ms = Date.parse(/[zZ]|[+-]\d{2}:\d{2}$/.test(text) ? text : `${text.replace(" ", "T")}Z`);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Loads the family's state at `now`: the agents' settings, their usage from
 * the ledger (brought up to date with the reports stored since it last
 * looked; a fresh ledger reads the last week), and the quota readings.
 */
export async function loadFamilyState(db: Db, now: number, config: HandlerConfig, ledger: Ledger = emptyLedger()): Promise<FamilyState> {
  const settings = settingsOf(config);
  await absorb(db, ledger, now);
  const identities = await db.execute("SELECT name, weight, paused_until, active, last_seen FROM claude_identities");
  const agents: AgentState[] = identities.rows.map((r) => {
    const name = String(r.name);
    const usage = ledger.agents.get(name);
    const auto = (span: number) => (usage ? sumBetween(usage.auto, now - span, now, now) : 0);
    return {
      name,
      weight: usableWeight(r.weight),
      pausedUntil: storedTime(r.paused_until),
      active: Number(r.active) !== 0,
      lastSeen: storedTime(r.last_seen),
      auto2h: auto(2 * HOUR),
      auto24h: auto(DAY),
      auto7d: auto(7 * DAY),
      costPerPrompt: usage ? costPerPrompt(usage, now) : null,
    };
  });
  const windows = await loadWindows(db, now, settings, config.timeZone, ledger);
  // The human's pace matters only for the reserve kept in a window. Without
  // one, no local time is computed: the first date formatter costs the
  // process some 6 MB of ICU data (see shared/time.ts).
  let humanTokensPerWorkingSecond = 0;
  if (windows.length > 0) {
    let collab = 0;
    for (const usage of ledger.agents.values()) collab += sumBetween(usage.collab, now - 7 * DAY, now, now);
    const worked = workingSeconds(now - 7 * DAY, now, settings.workHours, config.timeZone);
    humanTokensPerWorkingSecond = worked > 0 ? collab / worked : 0;
  }
  return { loadedAt: now, settings, agents, windows, humanTokensPerWorkingSecond };
}

interface Reading {
  window: string;
  percent: number;
  observedAt: number;
  resetsAt: number;
  source: string;
}

const readingOf = (r: Record<string, unknown>): Reading => ({
  window: String(r.window),
  percent: Number(r.used_percentage),
  observedAt: storedTime(r.observed_at)!,
  resetsAt: storedTime(r.resets_at)!,
  source: String(r.source),
});

interface Latest {
  last: Reading;
  /** The first reading of the same period (the last itself if none): the pair calibrates tokens per point. */
  first: Reading;
  /** The first and last readings of the period before, for a window that has not moved enough since its reset. */
  previous?: { first: Reading; last: Reading };
}

/**
 * Per window of quota_observations: its latest reading, and the first of
 * the same period. A statusLine sends a reading with every report, so the
 * table grows by thousands of rows a day: each query here is an index
 * seek, the windows' names found by skipping through the index, never a scan.
 */
async function observedWindows(db: Db, now: number): Promise<Latest[]> {
  const names = await db.execute(`WITH RECURSIVE w(name) AS (
      SELECT min(window) FROM quota_observations
      UNION ALL SELECT (SELECT min(window) FROM quota_observations WHERE window > w.name) FROM w WHERE w.name IS NOT NULL)
    SELECT name FROM w WHERE name IS NOT NULL`);
  if (names.rows.length === 0) return [];
  const nowIso = new Date(now).toISOString();
  const columns = "window, used_percentage, observed_at, resets_at, source";
  const latest = await db.batch(
    names.rows.map((r) => ({ sql: `SELECT ${columns} FROM quota_observations WHERE window = ? AND observed_at <= ? ORDER BY observed_at DESC LIMIT 1`, args: [String(r.name), nowIso] })),
    "read",
  );
  // A window whose latest reading has reset since is still known for one
  // more period (see current()); one silent for longer is not.
  const found = latest.flatMap((rs) => (rs.rows[0] ? [readingOf(rs.rows[0])] : [])).filter((r) => r.resetsAt + windowLengthMs(r.window) > now);
  if (found.length === 0) return [];
  const periodStart = (r: Reading) => new Date(r.resetsAt - windowLengthMs(r.window)).toISOString();
  // The first reading of the latest's period, and the last one before it (the period before).
  const [firsts, befores] = await Promise.all(
    [
      `SELECT ${columns} FROM quota_observations WHERE window = ? AND observed_at >= ? ORDER BY observed_at LIMIT 1`,
      `SELECT ${columns} FROM quota_observations WHERE window = ? AND observed_at < ? ORDER BY observed_at DESC LIMIT 1`,
    ].map((sql) => db.batch(found.map((last) => ({ sql, args: [last.window, periodStart(last)] })), "read")),
  );
  const pairs = found.map((last, i) => {
    const row = firsts![i]!.rows[0];
    const first = row ? readingOf(row) : last;
    const before = befores![i]!.rows[0];
    return { last, first: samePeriod(first, last) && first.observedAt <= last.observedAt ? first : last, before: before ? readingOf(before) : undefined };
  });
  // The period before calibrates a window that has just reset (it has not moved 2 points yet).
  const earlier = pairs.filter((p) => p.before !== undefined);
  const earlierFirsts = earlier.length === 0 ? [] : await db.batch(
    earlier.map((p) => ({ sql: `SELECT ${columns} FROM quota_observations WHERE window = ? AND observed_at >= ? ORDER BY observed_at LIMIT 1`, args: [p.last.window, periodStart(p.before!)] })),
    "read",
  );
  return pairs.map((p) => {
    const i = earlier.indexOf(p);
    const row = i >= 0 ? earlierFirsts[i]!.rows[0] : undefined;
    const first = row ? readingOf(row) : undefined;
    const previous = p.before && first && samePeriod(first, p.before) ? { first, last: p.before } : undefined;
    return { last: p.last, first: p.first, ...(previous ? { previous } : {}) };
  });
}

/**
 * The window now, from its latest reading. Once that reading's reset has
 * passed and no newer one came, the window is known all the same: empty at
 * the reset, resetting one period later (a 5-hour window really opens with
 * the first prompt after, which is soon in a busy family). Dropping it
 * instead left the family unpaced until the next reading: a burst at the
 * minimum interval after every reset, in the simulation.
 */
function current(last: Reading, now: number): Reading {
  if (last.resetsAt > now) return last;
  return { window: last.window, percent: 0, observedAt: last.resetsAt, resetsAt: last.resetsAt + windowLengthMs(last.window), source: `${last.source}, reset since` };
}

const samePeriod = (a: Reading, b: Reading) => a.window === b.window && Math.abs(a.resetsAt - b.resetsAt) < SAME_PERIOD_MS;

/** Each window's latest valid reading, from quota_observations or the seed's quota_info, whichever is newer. */
async function latestReadings(db: Db, now: number): Promise<Map<string, Latest>> {
  const latest = new Map<string, Latest>();
  for (const pair of await observedWindows(db, now)) latest.set(pair.last.window, pair);
  // quota_info, newest first: a window's first row there is its latest, later rows of the same period go back to its first.
  const fromInfo = new Map<string, Latest>();
  for (const r of (await loadQuotaInfo(db, now)).filter((r) => r.resetsAt > now).sort((a, b) => b.observedAt - a.observedAt)) {
    const seen = fromInfo.get(r.window);
    if (!seen) fromInfo.set(r.window, { last: r, first: r });
    else if (samePeriod(r, seen.last)) seen.first = r;
  }
  for (const [window, pair] of fromInfo) {
    const other = latest.get(window);
    if (!other || pair.last.observedAt > other.last.observedAt) latest.set(window, pair);
  }
  return latest;
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

/**
 * Each window's last reading, with the family's tokens since and how many
 * tokens make a percentage point (k): from two readings of the same period
 * (the tokens between them over the points they moved), else from the two
 * of the period before (a window that has just reset), else from the
 * budget, else from the usage since the window opened over its %. Windows
 * with a budget and no reading are estimated from the budget alone.
 */
async function loadWindows(db: Db, now: number, settings: AdviceSettings, timeZone: string, ledger: Ledger): Promise<WindowState[]> {
  const cost = sumBetween(ledger.familyCost, now - 7 * DAY, now, now);
  // Reports that carry a cost say how many tokens a dollar buys: the rate a budget in USD is converted at.
  const tokensPerUsd = cost > 0 ? sumBetween(ledger.familyPriced, now - 7 * DAY, now, now) / cost : null;
  const latest = await latestReadings(db, now);
  const budgets = new Map(settings.budgets.map((b) => [b.window, b]));
  const budgetTokens = (b: Budget | undefined) => (!b ? null : b.unit === "tokens" ? b.amount : tokensPerUsd === null ? null : b.amount * tokensPerUsd);

  const spans: [number, number][] = [];
  const span = (from: number, to: number) => spans.push([from, Math.max(from, to)]) - 1;
  const plans = [...latest.values()].map(({ last, first, previous }) => ({
    last,
    first,
    previous: previous ? { moved: previous.last.percent - previous.first.percent, span: span(previous.first.observedAt, previous.last.observedAt) } : undefined,
    current: current(last, now),
    since: span(current(last, now).observedAt, now),
    between: span(first.observedAt, last.observedAt),
    opened: span(last.resetsAt - windowLengthMs(last.window), last.observedAt),
  }));
  const budgetOnly = budgetPeriods(ledger, now, settings, timeZone, [...budgets.values()].filter((b) => !latest.has(b.window)));
  const budgetSpans = budgetOnly.map((b) => span(b.start, now));
  const sums = spans.map(([from, to]) => sumBetween(ledger.family, from, to, now));

  const windows: WindowState[] = plans.map(({ last, first, previous, current, since, between, opened }) => {
    const moved = last.percent - first.percent;
    const budget = budgetTokens(budgets.get(last.window));
    const k =
      moved >= 2 && sums[between]! > 0
        ? sums[between]! / moved
        : previous && previous.moved >= 2 && sums[previous.span]! > 0
          ? sums[previous.span]! / previous.moved
          : budget !== null
          ? budget / 100
          : last.percent >= 2 && sums[opened]! > 0
            ? sums[opened]! / last.percent
            : null;
    return {
      window: current.window,
      percent: current.percent,
      observedAt: current.observedAt,
      resetsAt: current.resetsAt,
      source: current.source,
      fromBudget: false,
      // A reading younger than a bucket of the ledger is as fresh as the ledger can tell.
      tokensSince: now - current.observedAt < BUCKET_MS ? 0 : sums[since]!,
      tokensPerPercent: k !== null && k > 0 ? k : null,
      workingSecondsLeft: workingSeconds(now, current.resetsAt, settings.workHours, timeZone),
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
function budgetPeriods(ledger: Ledger, now: number, settings: AdviceSettings, timeZone: string, budgets: Budget[]) {
  const periods: { budget: Budget; start: number; resetsAt: number }[] = [];
  for (const budget of budgets) {
    if (budget.window === "five_hour") {
      let first = Infinity;
      for (const [bucket, tokens] of ledger.family) if (tokens > 0 && bucket * BUCKET_MS > now - 5 * HOUR - BUCKET_MS) first = Math.min(first, bucket * BUCKET_MS);
      const start = Number.isFinite(first) ? Math.max(first, now - 5 * HOUR) : now;
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
