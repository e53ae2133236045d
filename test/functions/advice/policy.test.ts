import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advise, type Advice } from "../../../functions/advice/policy.ts";
import type { AgentState, FamilyState, WindowState } from "../../../functions/advice/state.ts";
import { DEFAULT_ADVICE } from "../../../shared/advice-settings.ts";

/**
 * The policy's properties, each on a state built by hand (what the loader
 * would have read), and over many random states with fast-check.
 */

const NOW = Date.parse("2026-12-05T12:00:00Z");
const HOUR = 3_600_000;

function agent(name: string, over: Partial<AgentState> = {}): AgentState {
  return { name, weight: 1, pausedUntil: null, active: true, lastSeen: NOW - 60_000, auto2h: 0, auto24h: 0, auto7d: 0, costPerPrompt: 100_000, ...over };
}

function window(name: string, over: Partial<WindowState> = {}): WindowState {
  return {
    window: name, percent: 50, observedAt: NOW - 60_000, resetsAt: NOW + 48 * HOUR, source: "api", fromBudget: false,
    tokensSince: 0, tokensPerPercent: 1_000_000, workingSecondsLeft: 0, ...over,
  };
}

function state(agents: AgentState[], windows: WindowState[] = [], over: Partial<FamilyState> = {}): FamilyState {
  return { loadedAt: NOW, settings: DEFAULT_ADVICE, agents, windows, humanTokensPerWorkingSecond: 0, ...over };
}

/** Tokens a second the family uses when every agent follows its advice. */
const familyRate = (s: FamilyState) => s.agents.reduce((sum, a) => sum + a.costPerPrompt! / advise(s, a.name, NOW).recommended_interval, 0);

describe("the advice policy", () => {
  it("splits the family's allowance by weight: an agent of weight 2 is advised half the interval of one of weight 1", () => {
    // 7-day usage already at the fair shares, so no correction applies.
    const s = state([agent("A", { auto7d: 1000 }), agent("B", { auto7d: 1000 }), agent("C", { weight: 2, auto7d: 2000 })]);
    const [a, b, c] = ["A", "B", "C"].map((n) => advise(s, n, NOW));
    expect(a!.recommended_interval).toBe(b!.recommended_interval);
    expect(a!.recommended_interval / c!.recommended_interval).toBeCloseTo(2, 2);
    expect([a!.advice.fair_share, c!.advice.fair_share]).toEqual([0.25, 0.5]);
    // No window known: the family works at its base-interval demand, split by weight.
    expect(a!.quota_status).toBe("unknown");
    expect(a!.recommended_interval).toBe(2400);
    expect(c!.recommended_interval).toBe(1200);
  });

  it("gives the verbose agent a longer interval so that tokens, not prompts, are shared by weight", () => {
    const s = state([agent("Terse", { costPerPrompt: 50_000, auto7d: 1 }), agent("Verbose", { costPerPrompt: 300_000, auto7d: 1 })]);
    const terse = advise(s, "Terse", NOW);
    const verbose = advise(s, "Verbose", NOW);
    expect(50_000 / terse.recommended_interval).toBeCloseTo(300_000 / verbose.recommended_interval, 0);
    expect(verbose.multipliers.fairness).toBeGreaterThan(1);
    expect(terse.multipliers.fairness).toBeLessThan(1);
  });

  it("corrects toward the fair share: an agent that used more than its share over 7 days slows down, the others speed up", () => {
    const even = state([agent("A", { auto7d: 1000 }), agent("B", { auto7d: 1000 })]);
    const skewed = state([agent("A", { auto7d: 3000 }), agent("B", { auto7d: 1000 })]);
    expect(advise(skewed, "A", NOW).recommended_interval).toBeGreaterThan(advise(even, "A", NOW).recommended_interval);
    expect(advise(skewed, "B", NOW).recommended_interval).toBeLessThan(advise(even, "B", NOW).recommended_interval);
    expect(advise(skewed, "A", NOW).advice.reasons.join("\n")).toMatch(/over 7 days A used 75% .* fair share of 50%/);
  });

  it("paces the windows to their target: following the advice, the family ends the window at the target, keeping the human's reserve", () => {
    // 40 points of room to the 90% target at 1M tokens a point, 48 hours to go,
    // of which 10 working hours at the human's 100 tokens a second: 3.6M reserved.
    const w = window("seven_day", { percent: 50, workingSecondsLeft: 36_000 });
    // Six agents at 100k tokens a prompt would use 333 tokens a second at the base interval: too much.
    const s = state(["A", "B", "C", "D", "E", "F"].map((n) => agent(n, { auto7d: 1 })), [w], { humanTokensPerWorkingSecond: 100 });
    const used = familyRate(s) * 48 * 3600;
    expect(used).toBeGreaterThan((40_000_000 - 3_600_000) * 0.99);
    expect(used).toBeLessThan((40_000_000 - 3_600_000) * 1.01);
    const a = advise(s, "A", NOW);
    expect(a.multipliers.weekly).toBeCloseTo(333.3 / (36_400_000 / 172_800), 1);
    expect(a.advice.reasons.join("\n")).toMatch(/the weekly window is at 50%.*the target is 90%.*keeping 3\.6M tokens for the human/);
  });

  it("speeds up when a window has room to spare, down to the minimum interval", () => {
    const s = state([agent("A", { costPerPrompt: 10_000 })], [window("seven_day", { percent: 1, tokensPerPercent: 10_000_000 })]);
    const a = advise(s, "A", NOW);
    expect(a.recommended_interval).toBe(DEFAULT_ADVICE.minInterval);
    expect(a.multipliers.weekly).toBeLessThan(1);
    expect(a.advice.reasons.join("\n")).toMatch(/room to spare/);
  });

  it("pauses at 100% until the reset, telling the agent to check back within the maximum interval, never later", () => {
    const soon = advise(state([agent("A")], [window("five_hour", { percent: 100, resetsAt: NOW + 20 * 60_000 })]), "A", NOW);
    expect(soon).toMatchObject({ quota_status: "paused", recommended_interval: 1200 });
    const late = advise(state([agent("A")], [window("seven_day", { percent: 100, resetsAt: NOW + 3 * 24 * HOUR })]), "A", NOW);
    expect(late).toMatchObject({ quota_status: "paused", recommended_interval: DEFAULT_ADVICE.maxInterval });
    expect(late.advice.reasons.join("\n")).toMatch(/full \(100%\).*\n.*check back in 4\.0 h/);
    const pausedAgent = advise(state([agent("A", { pausedUntil: NOW + 2 * HOUR })]), "A", NOW);
    expect(pausedAgent).toMatchObject({ quota_status: "paused", recommended_interval: 7200 });
    expect(pausedAgent.advice.reasons[0]).toMatch(/A is paused until 2026-12-05T14:00:00.000Z/);
  });

  it("hands a paused agent's share to the others", () => {
    const all = state([agent("A"), agent("B")]);
    const onePaused = state([agent("A"), agent("B", { pausedUntil: NOW + HOUR })], [window("seven_day")]);
    const withWindow = state([agent("A"), agent("B")], [window("seven_day")]);
    expect(advise(onePaused, "A", NOW).recommended_interval).toBeLessThan(advise(withWindow, "A", NOW).recommended_interval);
    expect(advise(all, "A", NOW).advice.fair_share).toBe(0.5);
    expect(advise(onePaused, "A", NOW).advice.fair_share).toBe(1);
  });

  it("waits for the binding window's reset at most, not the maximum interval, when only a short wait is needed", () => {
    const s = state([agent("A")], [window("five_hour", { percent: 95, resetsAt: NOW + 10 * 60_000 })]);
    expect(advise(s, "A", NOW).recommended_interval).toBe(660);
  });

  it("keeps pacing a window that reset after the state was loaded: empty, resetting a period later", () => {
    // Loaded when the weekly window stood at 89% with an hour to go; asked two hours later.
    const s = state(["A", "B", "C", "D", "E", "F"].map((n) => agent(n, { auto7d: 1 })), [window("seven_day", { percent: 89, resetsAt: NOW + HOUR })]);
    const later = advise(s, "A", NOW + 2 * HOUR);
    expect(later.advice.windows).toEqual([
      { window: "seven_day", used_percentage: 0, estimated: false, resets_at: new Date(NOW + HOUR + 7 * 24 * HOUR).toISOString(), projected_at_reset: expect.any(Number) },
    ]);
    // Paced to the new week, not unpaced at the minimum interval.
    expect(later.recommended_interval).toBeGreaterThan(DEFAULT_ADVICE.minInterval);
    expect(later.multipliers.weekly).toBeGreaterThan(1);
  });

  it("names the quota status from the worst window's used or projected %", () => {
    const at = (percent: number, auto2h = 0) => advise(state([agent("A", { auto2h })], [window("seven_day", { percent })]), "A", NOW).quota_status;
    expect([at(10), at(60), at(80), at(90), at(100)]).toEqual(["good", "medium", "high", "critical", "paused"]);
    // 10% used, but the last two hours' pace (5M tokens an hour) reaches 10 + 240 points by the reset.
    expect(at(10, 10_000_000)).toBe("critical");
  });
});

/** Random families and windows, including the corners: no history, no room, full windows, paused agents. */
const agentArb = fc.record({
  weight: fc.double({ min: 0.01, max: 100, noNaN: true }),
  paused: fc.boolean(),
  active: fc.boolean(),
  auto2h: fc.nat(50_000_000),
  auto24h: fc.nat(500_000_000),
  auto7d: fc.nat(2_000_000_000),
  costPerPrompt: fc.option(fc.double({ min: 1, max: 5_000_000, noNaN: true })),
});
const windowArb = fc.record({
  name: fc.constantFrom("five_hour", "seven_day", "seven_day_sonnet"),
  percent: fc.double({ min: 0, max: 100, noNaN: true }),
  resetsIn: fc.integer({ min: 1, max: 7 * 24 * 3600 }),
  tokensSince: fc.nat(100_000_000),
  tokensPerPercent: fc.option(fc.double({ min: 1, max: 1e9, noNaN: true })),
  workingSecondsLeft: fc.nat(200_000),
});
const familyArb = fc.record({
  agents: fc.array(agentArb, { minLength: 1, maxLength: 8 }),
  windows: fc.uniqueArray(windowArb, { maxLength: 3, selector: (w) => w.name }),
  human: fc.double({ min: 0, max: 10_000, noNaN: true }),
});

type Family = typeof familyArb extends fc.Arbitrary<infer T> ? T : never;

function build(f: Family): FamilyState {
  return state(
    f.agents.map((a, i) =>
      agent(`Agent-${i}`, { weight: a.weight, pausedUntil: a.paused ? NOW + HOUR : null, active: a.active, auto2h: a.auto2h, auto24h: a.auto24h, auto7d: a.auto7d, costPerPrompt: a.costPerPrompt }),
    ),
    f.windows.map((w) => window(w.name, { percent: w.percent, resetsAt: NOW + w.resetsIn * 1000, tokensSince: w.tokensSince, tokensPerPercent: w.tokensPerPercent, workingSecondsLeft: w.workingSecondsLeft })),
    { humanTokensPerWorkingSecond: f.human },
  );
}

const everyAdvice = (check: (a: Advice, s: FamilyState) => void) =>
  fc.assert(
    fc.property(familyArb, (f) => {
      const s = build(f);
      for (const a of s.agents) check(advise(s, a.name, NOW), s);
    }),
    { numRuns: 300 },
  );

describe("the advice on any state", () => {
  it("is an integer interval within the bounds, finite numbers in every multiplier, and a known status", () => {
    everyAdvice((a) => {
      expect(Number.isInteger(a.recommended_interval)).toBe(true);
      expect(a.recommended_interval).toBeGreaterThanOrEqual(DEFAULT_ADVICE.minInterval);
      expect(a.recommended_interval).toBeLessThanOrEqual(DEFAULT_ADVICE.maxInterval);
      for (const m of Object.values(a.multipliers)) expect(Number.isFinite(m)).toBe(true);
      expect(Object.keys(a.multipliers).sort()).toEqual(["combined", "fairness", "five_hour", "weekly"]);
      expect(["good", "medium", "high", "critical", "paused", "unknown"]).toContain(a.quota_status);
      expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    });
  });

  it("explains every factor away from 1 in words", () => {
    const words = { fairness: /fair share/, five_hour: /5-hour/, weekly: /weekly/, combined: /interval|paused|full/ };
    everyAdvice((a) => {
      const text = a.advice.reasons.join("\n");
      for (const [name, m] of Object.entries(a.multipliers))
        if (Math.abs(m - 1) > 0.05) expect(text, `${name} ${m}: ${text}`).toMatch(words[name as keyof typeof words]);
    });
  });
});
