import type { AgentState, FamilyState } from "./state.ts";
import { currentPercent, round1, windowsAt } from "./windows.ts";

/**
 * The fair-share policy: for one agent at one instant, how long to wait
 * before its next autonomous prompt. Pure arithmetic over a FamilyState; no
 * database, no clock of its own. Never reads the client's current interval:
 * scaling that is the feedback loop that ran the original system's
 * intervals away to days.
 *
 * 1. Each agent's cost per prompt c_a comes from its own last 12 hours:
 *    its tokens over the prompts the intervals this service advised imply
 *    (ledger.ts; the family's median without such history); at the base
 *    interval it would use c_a / base tokens a second: its demand.
 * 2. Each window W allows the family's autonomous work
 *    R_W = max(0, (target − used%) · k_W − human reserve) / max(time to
 *    reset, a short horizon), the reserve being the human's collaboration
 *    tokens per working hour (last 7 days) times the working hours left
 *    before the reset. R is the smallest; with no window known, R is the
 *    family's demand at base. A window that has reset since its last
 *    reading is paced as empty until the next one (windowsAt).
 * 3. R is split among the active agents by weight, each weight corrected
 *    toward the agent's fair share of the last 7 days (its weight ×
 *    clamp(√(fair share ÷ 7-day share), 0.5, 2)), max-min fair: an agent
 *    that cannot use its part even at the minimum interval hands the rest
 *    to the others. (Correcting the weights before the split, rather than
 *    the rates after it, keeps the family total R without renormalising.)
 * 4. interval = c_a ÷ its rate, no later than just after the binding
 *    window resets, within the bounds. A full window or a paused agent
 *    pauses until the reset, checking back within the maximum interval.
 *
 * `npm run simulate` (test/simulate/) plays a family against this policy.
 */

export type QuotaStatus = "good" | "medium" | "high" | "critical" | "paused" | "unknown";

export interface WindowAdvice {
  window: string;
  used_percentage: number;
  estimated: boolean;
  resets_at: string;
  /** Where the family's present pace (last 2 hours) plus the human's reserve leaves the window at its reset. */
  projected_at_reset: number | null;
}

export interface Advice {
  recommended_interval: number;
  multipliers: { fairness: number; five_hour: number; weekly: number; combined: number };
  quota_status: QuotaStatus;
  advice: { fair_share: number; share_24h: number; windows: WindowAdvice[]; reasons: string[] };
}

/** The shortest span a window's room is spread over, in seconds. */
const paceHorizon = (window: string) => (window === "five_hour" ? 20 * 60 : 2 * 3600);

/** Agents that reported within this long count as active (share the windows). */
export const ACTIVE_MS = 6 * 3_600_000;
/** A factor this close to 1 needs no explanation. */
const NOTABLE = 0.05;
/** Multipliers stay finite numbers: a window with no room says "at most 1000×". */
const MAX_FACTOR = 1000;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round2 = (x: number) => Math.round(clamp(x, 0, MAX_FACTOR) * 100) / 100;
const pct = (x: number) => `${Math.round(x * 100)}%`;
const notable = (x: number) => Math.abs(x - 1) > NOTABLE;
const human = (tokens: number) => (tokens >= 1e6 ? `${(tokens / 1e6).toFixed(1)}M` : tokens >= 1e3 ? `${Math.round(tokens / 1e3)}k` : `${Math.round(tokens)}`);
const duration = (s: number) => (s >= 5400 ? `${(s / 3600).toFixed(1)} h` : s >= 90 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);
const windowLabel = (w: string) => (w === "five_hour" ? "5-hour" : w === "seven_day" ? "weekly" : `weekly ${w.slice("seven_day_".length)}`);
const isWeekly = (w: string) => w.startsWith("seven_day");

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Splits `total` by weight, no one above its cap; what a capped one cannot use goes to the others. */
export function waterFill(total: number, weights: number[], caps: number[]): number[] {
  const share = weights.map(() => 0);
  let open = weights.map((_, i) => i).filter((i) => weights[i]! > 0);
  let left = total;
  while (open.length > 0 && left > 1e-12) {
    const sum = open.reduce((s, i) => s + weights[i]!, 0);
    const capped = open.filter((i) => (left * weights[i]!) / sum >= caps[i]!);
    if (capped.length === 0) {
      for (const i of open) share[i] = (left * weights[i]!) / sum;
      break;
    }
    for (const i of capped) {
      share[i] = caps[i]!;
      left -= caps[i]!;
    }
    open = open.filter((i) => !capped.includes(i));
  }
  return share;
}

export function advise(state: FamilyState, name: string, now: number): Advice {
  const s = state.settings;
  const T = s.targetPercent;
  const reasons: string[] = [];
  const me: AgentState = state.agents.find((a) => a.name === name) ?? {
    name, weight: 1, pausedUntil: null, active: true, lastSeen: now, auto2h: 0, auto24h: 0, auto7d: 0, costPerPrompt: null,
  };
  const paused = (a: AgentState) => a.pausedUntil !== null && a.pausedUntil > now;
  const active = state.agents.filter((a) => a.name !== name && !paused(a) && a.active && a.lastSeen !== null && now - a.lastSeen <= ACTIVE_MS);
  if (!paused(me)) active.push(me);
  const familyMedian = median(state.agents.map((a) => a.costPerPrompt).filter((c): c is number => c !== null && c > 0));
  const cost = (a: AgentState) => (a.costPerPrompt !== null && a.costPerPrompt > 0 ? a.costPerPrompt : familyMedian);
  const myCost = cost(me);

  // Demand at the base interval (tokens/s), and the fair shares.
  const demand = active.map((a) => (cost(a) ?? 0) / s.baseInterval);
  const D = demand.reduce((x, y) => x + y, 0);
  const totalWeight = active.reduce((x, a) => x + a.weight, 0) || me.weight;
  const fairShare = me.weight / totalWeight;
  const total24h = state.agents.reduce((x, a) => x + a.auto24h, 0);
  const share24h = total24h > 0 ? me.auto24h / total24h : 0;

  // The windows: room left for autonomous work, per second until the reset.
  const recentRate = state.agents.reduce((x, a) => x + a.auto2h, 0) / 7200;
  const windows = windowsAt(state, now)
    .map((w) => {
      const { percent, estimated } = currentPercent(w);
      const tau = Math.max(1, (w.resetsAt - now) / 1000);
      const k = w.tokensPerPercent;
      const reserve = state.humanTokensPerWorkingSecond * w.workingSecondsLeft;
      // Paced over at least a short horizon: as the reset nears, room over
      // time-to-reset swings between "spend it all now" and "nothing left"
      // (replies 15-35x apart in the simulation); the little room left
      // unspent at the end is a point or two of the window.
      const room = k === null ? null : Math.max(0, (T - percent) * k - reserve) / Math.max(tau, paceHorizon(w.window));
      const atBase = k === null ? null : percent + (D * tau + reserve) / k;
      const projected = k === null ? null : Math.min(999, percent + (recentRate * tau + reserve) / k);
      return { w, percent, estimated, tau, k, reserve, room, atBase, projected };
    });
  const paced = windows.filter((x) => x.room !== null);
  const binding = paced.reduce<(typeof paced)[number] | undefined>((b, x) => (b === undefined || x.room! < b.room! ? x : b), undefined);
  const R = binding ? binding.room! : D;

  // Weights corrected toward each agent's fair share over 7 days.
  const total7d = active.reduce((x, a) => x + a.auto7d, 0);
  const correction = (a: AgentState) => {
    if (total7d <= 0) return 1;
    const used = a.auto7d / total7d;
    return used <= 0 ? 2 : clamp(Math.sqrt(a.weight / totalWeight / used), 0.5, 2);
  };
  const corrected = active.map((a) => a.weight * correction(a));
  const correctedTotal = corrected.reduce((x, y) => x + y, 0);
  const rates = waterFill(R, corrected, active.map((a) => (cost(a) ?? 0) / s.minInterval));
  const i = active.indexOf(me);
  const myRate = i >= 0 ? rates[i]! : 0;
  const myCorrection = i >= 0 ? correction(me) : 1;
  const effectiveShare = i >= 0 && correctedTotal > 0 ? corrected[i]! / correctedTotal : fairShare;

  // The interval, and the factors it is made of.
  let raw = s.baseInterval;
  if (myCost !== null && myCost > 0 && D > 0) raw = myRate > 0 ? myCost / myRate : Infinity;
  const fairness = myCost !== null && D > 0 && effectiveShare > 0 ? (myCost / s.baseInterval / D) / effectiveShare : 1;
  const factor = (x: (typeof windows)[number] | undefined) => (x?.room == null || D <= 0 ? 1 : x.room > 0 ? D / x.room : MAX_FACTOR);
  const worstOf = (pick: (w: string) => boolean) =>
    windows.filter((x) => pick(x.w.window) && x.room !== null).reduce<(typeof windows)[number] | undefined>((b, x) => (b === undefined || x.room! < b.room! ? x : b), undefined);
  const fiveHour = worstOf((w) => w === "five_hour");
  const weekly = worstOf(isWeekly);
  const multipliers = { fairness: round2(fairness), five_hour: round2(factor(fiveHour)), weekly: round2(factor(weekly)), combined: round2(raw / s.baseInterval) };

  let interval = raw;
  // Past its reset, a window has room again: never wait much beyond it.
  if (binding && interval > binding.tau + 60) {
    interval = binding.tau + 60;
    reasons.push(`the ${windowLabel(binding.w.window)} window resets in ${duration(binding.tau)}: check back just after it`);
  }
  let status = statusOf(windows, T);
  const full = windows.filter((x) => x.percent >= 100);
  if (paused(me)) {
    status = "paused";
    interval = (me.pausedUntil! - now) / 1000;
    reasons.push(`${name} is paused until ${new Date(me.pausedUntil!).toISOString()}`);
  } else if (full.length > 0) {
    status = "paused";
    const last = full.reduce((a, b) => (b.tau > a.tau ? b : a));
    interval = last.tau;
    reasons.push(`the ${windowLabel(last.w.window)} window is full (100%) until it resets at ${new Date(last.w.resetsAt).toISOString()}: autonomous work pauses`);
  }
  const recommended = Math.round(clamp(Number.isFinite(interval) ? interval : s.maxInterval, s.minInterval, s.maxInterval));
  if (status === "paused" && interval > s.maxInterval) reasons.push(`check back in ${duration(s.maxInterval)} (the maximum interval) to see whether that changed`);

  // A reason for every factor away from 1.
  if (myCost === null) reasons.push(`no autonomous history in the family yet: the base interval, ${s.baseInterval} s`);
  if (notable(multipliers.fairness)) {
    reasons.push(
      `${name} would use ${pct(myCost! / s.baseInterval / D)} of the family's autonomous tokens at the base interval (about ${human(myCost!)} tokens a prompt); its fair share is ${pct(fairShare)} (weight ${me.weight} of ${round1(totalWeight)})`,
    );
    if (notable(myCorrection))
      reasons.push(`over 7 days ${name} used ${pct(total7d > 0 ? me.auto7d / total7d : 0)} of the family's autonomous tokens against a fair share of ${pct(fairShare)}, so its pace is corrected ×${myCorrection.toFixed(2)}`);
  }
  for (const [label, x, m] of [["5-hour", fiveHour, multipliers.five_hour], ["weekly", weekly, multipliers.weekly]] as const) {
    if (!x || !notable(m)) continue;
    const course = `the ${label} window is at ${round1(x.percent)}%${x.estimated ? " (estimated)" : ""}; at every agent's base interval it would reach ${Math.round(x.atBase!)}% by its reset in ${duration(x.tau)}; the target is ${T}%`;
    const reserve = x.reserve > 0 ? `, keeping ${human(x.reserve)} tokens for the human's working hours` : "";
    reasons.push(m > 1 ? `${course}${reserve}: autonomous work slows ×${m}` : `${course}${reserve}: room to spare, autonomous work speeds up ×${(1 / m).toFixed(2)}`);
  }
  if (notable(multipliers.combined) && Number.isFinite(raw))
    reasons.push(`interval ${Math.round(raw)} s = about ${human(myCost ?? 0)} tokens a prompt ÷ its allowance of ${human(myRate * 3600)} tokens an hour${recommended !== Math.round(raw) ? `, kept within ${s.minInterval}-${s.maxInterval} s: ${recommended} s` : ""}`);
  else if (notable(multipliers.combined)) reasons.push(`no room for autonomous work in the windows: the maximum interval, ${s.maxInterval} s`);

  return {
    recommended_interval: recommended,
    multipliers,
    quota_status: windows.length === 0 && status !== "paused" ? "unknown" : status,
    advice: {
      fair_share: Math.round(fairShare * 1000) / 1000,
      share_24h: Math.round(share24h * 1000) / 1000,
      windows: windows.map((x) => ({
        window: x.w.window,
        used_percentage: round1(x.percent),
        estimated: x.estimated,
        resets_at: new Date(x.w.resetsAt).toISOString(),
        projected_at_reset: x.projected === null ? null : Math.round(x.projected),
      })),
      reasons,
    },
  };
}

function statusOf(windows: { percent: number; projected: number | null }[], target: number): QuotaStatus {
  if (windows.length === 0) return "unknown";
  if (windows.some((x) => x.percent >= 100)) return "paused";
  const worst = Math.max(...windows.map((x) => Math.max(x.percent, x.projected ?? 0)));
  return worst < 50 ? "good" : worst < 75 ? "medium" : worst < target ? "high" : "critical";
}
