import type { Db } from "../../shared/context.ts";

/**
 * The family's recent usage in 5-minute buckets, kept up to date from the
 * reports stored since the last look (by id), so that keeping the advice
 * current costs a query over the new rows, not over a week of them. A
 * handler without one builds it afresh (same queries, over the last week).
 */
export const BUCKET_MS = 5 * 60_000;
/** How far back the ledger keeps usage: the 7-day shares, and a weekly window's period. */
export const KEEP_MS = 8 * 86_400_000;
/** The span an agent's cost per prompt is measured over. */
export const COST_SPAN_MS = 12 * 3_600_000;

interface AgentUsage {
  auto: Map<number, number>;
  collab: Map<number, number>;
  /** Per bucket: the tokens of autonomous reports, and the prompts their advised intervals imply. */
  costTokens: Map<number, number>;
  costPrompts: Map<number, number>;
  /** The agent's latest autonomous report seen: its time and the interval it was advised. */
  last: { at: number; interval: number | null } | null;
}

export interface Ledger {
  /** The highest report id absorbed. */
  lastId: number;
  /** The family's tokens, all modes. */
  family: Map<number, number>;
  /** The family's cost (USD), and the tokens of the reports that carried one. */
  familyCost: Map<number, number>;
  familyPriced: Map<number, number>;
  agents: Map<string, AgentUsage>;
}

export const emptyLedger = (): Ledger => ({ lastId: 0, family: new Map(), familyCost: new Map(), familyPriced: new Map(), agents: new Map() });

const add = (m: Map<number, number>, bucket: number, x: number) => m.set(bucket, (m.get(bucket) ?? 0) + x);

function agentOf(ledger: Ledger, name: string): AgentUsage {
  let a = ledger.agents.get(name);
  if (!a) ledger.agents.set(name, (a = { auto: new Map(), collab: new Map(), costTokens: new Map(), costPrompts: new Map(), last: null }));
  return a;
}

/**
 * Adds the reports stored since `ledger.lastId` (all of the last week's on a
 * fresh ledger) with one grouped query, whatever the number of new rows:
 * per agent, mode and bucket, the tokens, and for autonomous reports that
 * were advised an interval, how many, their first and last time and their
 * mean interval. An agent's cost per prompt comes from consecutive reports:
 * each report's advised interval covers the time to the next one, whose
 * tokens it paid for, so the prompts in that gap are the gap over the
 * interval (a gap longer than two intervals is an agent that stopped, and
 * counts as two). Within a bucket (5 minutes, shorter than any interval)
 * the gaps add up to last − first; between buckets, the last report of one
 * pairs with the first of the next. Rows are never fetched one by one: at a
 * few microseconds each, that cost the webhook more than storing them.
 */
export async function absorb(db: Db, ledger: Ledger, now: number): Promise<void> {
  const fresh = ledger.lastId === 0;
  const top = await db.execute("SELECT coalesce(max(id), 0) AS id FROM resource_share_increments");
  const upTo = Number(top.rows[0]!.id);
  if (upTo <= ledger.lastId) return;
  // New rows are found by id (the primary key); a fresh ledger's week by time
  // (its index), the other term then checked row by row (a unary + keeps
  // SQLite from choosing that term's index).
  const id = fresh ? "+id" : "id";
  const time = fresh ? "timestamp_ms" : "+timestamp_ms";
  const advised = "mode = 'autonomy' AND recommended_interval > 0";
  const rs = await db.execute({
    sql: `SELECT claude_name AS name, mode, timestamp_ms / ${BUCKET_MS} AS bucket, total(cache_read_increment) AS tokens,
        total(cost_delta) AS cost, total(CASE WHEN cost_delta > 0 THEN cache_read_increment END) AS priced,
        count(CASE WHEN ${advised} THEN 1 END) AS advised, total(CASE WHEN ${advised} THEN cache_read_increment END) AS advised_tokens,
        min(CASE WHEN ${advised} THEN timestamp_ms END) AS first_at, max(CASE WHEN ${advised} THEN timestamp_ms END) AS last_at,
        avg(CASE WHEN ${advised} THEN recommended_interval END) AS interval
      FROM resource_share_increments WHERE ${id} > ? AND ${id} <= ? AND ${time} > ? GROUP BY 1, 2, 3 ORDER BY 1, 3`,
    args: [ledger.lastId, upTo, now - KEEP_MS],
  });
  for (const r of rs.rows) {
    const a = agentOf(ledger, String(r.name));
    const bucket = Number(r.bucket);
    const t = Number(r.tokens);
    add(r.mode === "autonomy" ? a.auto : a.collab, bucket, t);
    add(ledger.family, bucket, t);
    if (Number(r.cost) > 0) {
      add(ledger.familyCost, bucket, Number(r.cost));
      add(ledger.familyPriced, bucket, Number(r.priced));
    }
    const n = Number(r.advised);
    if (n === 0 || bucket * BUCKET_MS < now - COST_SPAN_MS - BUCKET_MS) continue;
    const firstAt = Number(r.first_at);
    const lastAt = Number(r.last_at);
    const interval = Number(r.interval);
    const meanTokens = Number(r.advised_tokens) / n;
    // Within the bucket: n − 1 pairs spanning last − first.
    add(a.costTokens, bucket, meanTokens * (n - 1));
    add(a.costPrompts, bucket, (lastAt - firstAt) / 1000 / interval);
    // With the agent's report before it, if that came earlier.
    if (a.last && a.last.interval && firstAt > a.last.at) {
      const gap = (firstAt - a.last.at) / 1000;
      add(a.costTokens, bucket, meanTokens);
      add(a.costPrompts, bucket, Math.min(gap, 2 * a.last.interval) / a.last.interval);
    }
    if (!a.last || lastAt >= a.last.at) a.last = { at: lastAt, interval };
  }
  ledger.lastId = upTo;
  prune(ledger, now);
}

/** Forgets buckets older than the ledger keeps (a costly sweep, so only once a map has grown past a week's worth). */
function prune(ledger: Ledger, now: number): void {
  const oldest = Math.floor((now - KEEP_MS) / BUCKET_MS);
  const costOldest = Math.floor((now - COST_SPAN_MS) / BUCKET_MS) - 1;
  const sweep = (m: Map<number, number>, from: number, limit: number) => {
    if (m.size <= limit) return;
    for (const k of m.keys()) if (k < from) m.delete(k);
  };
  const week = KEEP_MS / BUCKET_MS;
  for (const m of [ledger.family, ledger.familyCost, ledger.familyPriced]) sweep(m, oldest, week + 12);
  for (const a of ledger.agents.values()) {
    sweep(a.auto, oldest, week + 12);
    sweep(a.collab, oldest, week + 12);
    sweep(a.costTokens, costOldest, COST_SPAN_MS / BUCKET_MS + 12);
    sweep(a.costPrompts, costOldest, COST_SPAN_MS / BUCKET_MS + 12);
  }
}

/**
 * Sum of a bucket map over (from, to], a partly covered bucket counted pro
 * rata over the part of it that has passed by `now`.
 */
export function sumBetween(m: Map<number, number>, from: number, to: number, now: number): number {
  if (to <= from || m.size === 0) return 0;
  const first = Math.floor(from / BUCKET_MS);
  const last = Math.floor(to / BUCKET_MS);
  const overlap = (bucket: number) => {
    const start = bucket * BUCKET_MS;
    const end = Math.max(start + 1, Math.min(start + BUCKET_MS, now));
    return Math.max(0, Math.min(to, end) - Math.max(from, start)) / (end - start);
  };
  let total = 0;
  if (last - first + 1 < m.size) {
    for (let b = first; b <= last; b++) {
      const x = m.get(b);
      if (x !== undefined) total += x * overlap(b);
    }
  } else {
    for (const [b, x] of m) if (b >= first && b <= last) total += x * overlap(b);
  }
  return total;
}

/** An agent's tokens per autonomous prompt over the last 12 hours; null without enough advised history. */
export function costPerPrompt(a: AgentUsage, now: number): number | null {
  const tokens = sumBetween(a.costTokens, now - COST_SPAN_MS, now, now);
  const prompts = sumBetween(a.costPrompts, now - COST_SPAN_MS, now, now);
  return prompts >= 1 ? tokens / prompts : null;
}
