import { seededRandom } from "../support/increments.ts";

/**
 * The simulated family: agents of different verbosity and weight, a human
 * who works with two of them on weekdays, and a subscription whose windows
 * allow well under half of what the agents would use unthrottled.
 */
export interface SimAgent {
  name: string;
  weight: number;
  /** Mean tokens per autonomous prompt. */
  cost: number;
}

export interface Surprise {
  /** From this simulated day, the agent's cost per prompt is multiplied by `factor`. */
  costChange?: { agent: number; fromDay: number; factor: number };
  /** The agent does nothing (no prompts, no reports) for these days. */
  silent?: { agent: number; fromDay: number; days: number };
}

export interface Family {
  agents: SimAgent[];
  /** The human works Mon-Fri 09:00-13:00 with agent 0 and 14:00-18:00 with agent 1 (UTC), a prompt every 5 minutes. */
  humanCost: number;
  /** Window sizes in tokens. */
  weeklyCapacity: number;
  fiveHourCapacity: number;
  surprise: Surprise;
  random: () => number;
}

const NAMES = ["Sparkle-Orange", "Quill-Blue", "Ember-Teal", "Moss-Grey", "Pike-Amber", "Wren-Violet", "Dune-Rose", "Cove-Jade", "Fern-Slate", "Lark-Gold"];

/** The default family for `agents` agents: costs from 40k to 240k tokens a prompt (6x), weights 1, 2 and 1.5. */
export function makeFamily(seed: number, agents: number, surprises: boolean): Family {
  const random = seededRandom(seed);
  const list: SimAgent[] = Array.from({ length: agents }, (_, i) => ({
    name: NAMES[i] ?? `Agent-${i + 1}`,
    weight: i === 1 ? 2 : i === 3 ? 1.5 : 1,
    cost: Math.round(40_000 * 6 ** (agents > 1 ? i / (agents - 1) : 0)),
  }));
  // Unthrottled (every agent at 1800 s), the family would use about twice the weekly window.
  const demandPerWeek = (list.reduce((s, a) => s + a.cost, 0) / 1800) * 7 * 86400;
  const weeklyCapacity = Math.round(demandPerWeek / 2.15);
  return {
    agents: list,
    humanCost: 25_000,
    weeklyCapacity,
    fiveHourCapacity: Math.round(weeklyCapacity / 8),
    surprise: surprises
      ? { costChange: { agent: Math.min(2, agents - 1), fromDay: 10.5, factor: 2 }, silent: { agent: Math.min(4, agents - 1), fromDay: 16, days: 2 } }
      : {},
    random,
  };
}

/** A prompt's tokens: the agent's mean, give or take (log-normal, about ±25%). */
export function promptTokens(mean: number, random: () => number): number {
  const u = Math.max(1e-9, random());
  const v = random();
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(1, Math.round(mean * Math.exp(0.25 * normal - 0.03125)));
}
