import { emptyLedger } from "../../functions/advice/ledger.ts";
import { loadFamilyState } from "../../functions/advice/load.ts";
import type { AdviceContext, FamilyState } from "../../functions/advice/state.ts";
import { ingest, type IngestOutput } from "../../functions/ingest.ts";
import { setAgent } from "../../functions/setAgent.ts";
import { DEFAULT_ADVICE } from "../../shared/advice-settings.ts";
import type { Context } from "../../shared/context.ts";
import { migrate } from "../../shared/migrations.ts";
import { openFileConnection } from "../../runner/platform/file-connection.ts";
import { testConfig } from "../support/context.ts";
import { promptTokens, type Family } from "./family.ts";
import { Subscription } from "./subscription.ts";

export type PolicyName = "ours" | "constant 1800 s" | "compounding";

/** How an agent's client picks its next interval from a 200's body. */
const NEXT: Record<PolicyName, (current: number, reply: IngestOutput) => number> = {
  // The real client: int(recommended_interval) if above 0, else keep the current one.
  ours: (current, reply) => {
    const advised = Math.trunc(Number(reply.recommended_interval));
    return advised > 0 ? advised : current;
  },
  "constant 1800 s": () => 1800,
  // The original system's later formula, kept within a minute and a week so that the run ends.
  compounding: (current, reply) => {
    const m = reply.multipliers!;
    return Math.min(7 * 86400, Math.max(60, Math.round(current * m.fairness * m.five_hour * m.weekly)));
  },
};

export interface RunResult {
  policy: PolicyName;
  /** Per simulated week, per agent: autonomous tokens. */
  weekly: number[][];
  /** Per simulated week, per agent: the fraction of the week it was able to work (not silent). */
  available: number[][];
  overruns: number;
  humanBlockedMinutes: number;
  /** Used % of each full weekly window at its reset. */
  weeklyAtReset: number[];
  intervals: {
    min: number;
    max: number;
    /** The largest change of one agent's interval from one reply to the next, as a factor. */
    maxStep: number;
    /** The same, leaving out the first day (no history yet) and replies with a window reset since the agent's last one. */
    maxSteadyStep: number;
  };
  /** Hourly samples for the chart: each agent's cumulative autonomous tokens, and the windows' %. */
  trace: { cumulative: number[][]; fiveHour: number[]; weekly: number[] };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The simulated start: Monday 2 November 2026, 00:00 UTC; the weekly window resets on Thursdays at 18:00. */
export const START = Date.parse("2026-11-02T00:00:00Z");
const FIRST_WEEKLY_RESET = Date.parse("2026-11-05T18:00:00Z");
/** How often (simulated time) the state the advice is computed from is refreshed, as the runner does every few seconds. */
const REFRESH_MS = 15 * 60_000;
const HUMAN_EVERY_MS = 5 * 60_000;

const isWorkHour = (t: number, from: number, to: number) => {
  const d = new Date(t);
  const day = d.getUTCDay();
  const h = d.getUTCHours() + d.getUTCMinutes() / 60;
  return day >= 1 && day <= 5 && h >= from && h < to;
};
/** Which agent the human works with at `t`, if any. */
const humanWith = (t: number): number | undefined => (isWorkHour(t, 9, 13) ? 0 : isWorkHour(t, 14, 18) ? 1 : undefined);

/**
 * One policy over `weeks` simulated weeks: every prompt's report goes
 * through the real ingest handler (which answers with the real advice) on an
 * in-memory libSQL database, with the simulated clock as the handler's clock.
 */
export async function runPolicy(family: Family, policy: PolicyName, weeks: number): Promise<RunResult> {
  // An in-memory libSQL database through the webhook's own connection
  // (prepared statements, one synchronous call per batch): the same SQL as
  // the service runs, without a disk to wait for.
  const connection = openFileConnection(":memory:", { busyTimeoutMs: 1000 });
  const db = {
    ...connection,
    // migrate() asks for a transaction: the one connection, between BEGIN and COMMIT.
    async transaction() {
      await connection.execute("BEGIN IMMEDIATE");
      return {
        execute: connection.execute,
        commit: async () => void (await connection.execute("COMMIT")),
        rollback: async () => void (await connection.execute("ROLLBACK")),
        close: () => undefined,
      };
    },
  } as unknown as Context["db"];
  await migrate(db);
  try {
    const config = testConfig({ advice: { ...DEFAULT_ADVICE, workHours: { days: [1, 2, 3, 4, 5], from: 9 * 60, to: 18 * 60 } } });
    let now = START;
    const ledger = emptyLedger();
    let state: FamilyState | undefined;
    const ctx: AdviceContext = {
      db,
      now: () => new Date(now),
      config,
      familyState: async () => {
        if (!state || now - state.loadedAt >= REFRESH_MS) state = await loadFamilyState(db, now, config, ledger);
        return state;
      },
    };
    // The family's weights, set as a person would (runner invoke setAgent).
    for (const a of family.agents) {
      const set = await setAgent({ claude_name: a.name, weight: a.weight, register: true }, ctx);
      if (!set.ok) throw new Error(`setAgent refused ${a.name}: ${set.error.message}`);
    }
    const sub = new Subscription(family.weeklyCapacity, family.fiveHourCapacity, FIRST_WEEKLY_RESET);
    const end = START + weeks * 7 * DAY;
    const n = family.agents.length;
    const random = family.random;
    const interval = family.agents.map(() => 1800);
    // Agents start spread over their first interval.
    const next = family.agents.map(() => START + Math.floor(random() * 1800_000));
    let humanNext = START;
    const weekly = Array.from({ length: weeks }, () => new Array<number>(n).fill(0));
    const available = Array.from({ length: weeks }, () => new Array<number>(n).fill(1));
    const cumulative = family.agents.map(() => [] as number[]);
    const totals = new Array<number>(n).fill(0);
    const fiveHour: number[] = [];
    const weeklyTrace: number[] = [];
    let nextSample = START;
    let humanBlockedMinutes = 0;
    let minInterval = Infinity;
    let maxInterval = 0;
    let maxStep = 1;
    let maxSteadyStep = 1;
    const resetsAtLastReply = family.agents.map(() => -1);
    const { costChange, silent } = family.surprise;
    const costOf = (i: number, t: number) => family.agents[i]!.cost * (costChange && costChange.agent === i && t >= START + costChange.fromDay * DAY ? costChange.factor : 1);
    const isSilent = (i: number, t: number) => silent !== undefined && silent.agent === i && t >= START + silent.fromDay * DAY && t < START + (silent.fromDay + silent.days) * DAY;
    if (silent) for (let d = 0; d < silent.days * 4; d++) {
      const at = START + (silent.fromDay + d / 4) * DAY;
      const w = Math.floor((at - START) / (7 * DAY));
      if (w < weeks) available[w]![silent.agent]! -= 1 / 28;
    }

    async function report(i: number, tokens: number, mode: "autonomy" | "collaboration"): Promise<void> {
      const reply = await ingest(
        { claude_name: family.agents[i]!.name, cache_read_increment: tokens, mode, current_interval: interval[i], rate_limits: sub.rateLimits(now) },
        ctx,
      );
      if (!reply.ok) throw new Error(`the simulated report was refused: ${reply.error.message}`);
      const before = interval[i]!;
      const after = NEXT[policy](before, reply.value);
      interval[i] = after;
      minInterval = Math.min(minInterval, after);
      maxInterval = Math.max(maxInterval, after);
      const step = Math.max(after / before, before / after);
      maxStep = Math.max(maxStep, step);
      if (now >= START + DAY && resetsAtLastReply[i] === sub.resets) maxSteadyStep = Math.max(maxSteadyStep, step);
      resetsAtLastReply[i] = sub.resets;
    }

    while (true) {
      let who = -1;
      let at = humanNext;
      for (let i = 0; i < n; i++) if (next[i]! < at) (at = next[i]!), (who = i);
      if (at >= end) break;
      while (nextSample <= at) {
        sub.tick(nextSample);
        for (let i = 0; i < n; i++) cumulative[i]!.push(totals[i]!);
        fiveHour.push(sub.fivePercent());
        weeklyTrace.push(sub.weekPercent());
        nextSample += HOUR;
      }
      now = at;
      const week = Math.floor((now - START) / (7 * DAY));
      if (who === -1) {
        humanNext = now + HUMAN_EVERY_MS;
        const partner = humanWith(now);
        if (partner === undefined) continue;
        if (sub.blocked(now)) {
          humanBlockedMinutes += HUMAN_EVERY_MS / 60_000;
          continue;
        }
        const tokens = promptTokens(family.humanCost, random);
        sub.use(now, tokens);
        await report(partner, tokens, "collaboration");
        continue;
      }
      // An agent's autonomous timer: idle while its human works with it, or while it is silent.
      const busy = humanWith(now) === who || isSilent(who, now);
      if (busy || sub.blocked(now)) {
        next[who] = now + interval[who]! * 1000;
        continue;
      }
      const tokens = promptTokens(costOf(who, now), random);
      sub.use(now, tokens);
      weekly[week]![who]! += tokens;
      totals[who]! += tokens;
      await report(who, tokens, "autonomy");
      next[who] = now + interval[who]! * 1000;
    }
    sub.tick(end);
    return {
      policy,
      weekly,
      available,
      overruns: sub.overruns,
      humanBlockedMinutes,
      weeklyAtReset: sub.weeklyAtReset,
      intervals: { min: minInterval, max: maxInterval, maxStep, maxSteadyStep },
      trace: { cumulative, fiveHour, weekly: weeklyTrace },
    };
  } finally {
    connection.close();
  }
}
