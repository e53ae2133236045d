import { jain } from "../../functions/advice/fairness.ts";
import type { Family } from "./family.ts";
import type { RunResult } from "./run.ts";


export interface Figures {
  scenario: string;
  policy: string;
  /** Per simulated week: Jain of autonomous usage ÷ weight (÷ its fair share counting the days it could work). */
  jain: number[];
  overruns: number;
  humanBlockedMinutes: number;
  /** Used share of each full weekly window at its reset. */
  utilisation: number[];
  intervalMin: number;
  intervalMax: number;
  /** The largest change of one agent's interval from one reply to the next, as a factor. */
  maxStep: number;
  /** The same with the inputs steady: after the first day, no window reset since the agent's last reply. */
  maxSteadyStep: number;
}

/**
 * The figures of one run. The fair share of an agent in a week is its
 * weight times the part of the week it could work (a silent agent's unused
 * share goes to the others, as max-min fairness hands it on).
 */
export function figures(scenario: string, family: Family, run: RunResult): Figures {
  const jains = run.weekly.map((usage, w) => {
    const fair = family.agents.map((a, i) => a.weight * run.available[w]![i]!);
    return jain(usage.map((x, i) => x / fair[i]!));
  });
  return {
    scenario,
    policy: run.policy,
    jain: jains,
    overruns: run.overruns,
    humanBlockedMinutes: run.humanBlockedMinutes,
    utilisation: run.weeklyAtReset.map((p) => p / 100),
    intervalMin: run.intervals.min,
    intervalMax: run.intervals.max,
    maxStep: run.intervals.maxStep,
    maxSteadyStep: run.intervals.maxSteadyStep,
  };
}
