import type { AdviceSettings } from "../../shared/advice-settings.ts";
import type { Context } from "../../shared/context.ts";

/**
 * The advising handlers' context: the webhook keeps the family's state in
 * memory, refreshed every few seconds, so that a report costs no queries;
 * without it a handler loads the state from the database.
 */
export interface AdviceContext extends Context {
  familyState?: () => Promise<FamilyState>;
}

/**
 * What the advice is computed from: the family's recent usage, its agents'
 * settings and the quota windows, as loaded from the database at one
 * instant (load.ts). The policy (policy.ts) reads nothing else, so a state
 * kept in memory answers many reports with arithmetic alone.
 */
export interface FamilyState {
  /** When it was loaded (Unix ms). */
  loadedAt: number;
  settings: AdviceSettings;
  agents: AgentState[];
  windows: WindowState[];
  /** The human's collaboration tokens per second of working hours, over the last 7 days. */
  humanTokensPerWorkingSecond: number;
}

export interface AgentState {
  name: string;
  weight: number;
  /** Unix ms; null when not paused. */
  pausedUntil: number | null;
  /** The `active` flag of claude_identities. */
  active: boolean;
  /** Unix ms of the last report; null if never. */
  lastSeen: number | null;
  /** Autonomous tokens over the last 2 hours, 24 hours and 7 days. */
  auto2h: number;
  auto24h: number;
  auto7d: number;
  /**
   * Tokens per autonomous prompt, from its own last 12 hours: its tokens
   * over the prompts the intervals the service advised imply. Null without
   * such history.
   */
  costPerPrompt: number | null;
}

export interface WindowState {
  window: string;
  /** The last reading's used % (for a budget: the family's usage in the period over the budget). */
  percent: number;
  observedAt: number;
  resetsAt: number;
  /** Who said so: an agent's name, "api", "quota_info", or "budget". */
  source: string;
  /** True when the percent comes from a configured budget, not from a reading. */
  fromBudget: boolean;
  /** The family's tokens (all modes) reported after the reading, up to loadedAt. */
  tokensSince: number;
  /** Tokens that move the window by one percentage point; null when nothing tells. */
  tokensPerPercent: number | null;
  /** The human's working seconds from loadedAt to the reset. */
  workingSecondsLeft: number;
}

/** How long a window lasts from its opening to its reset. */
export const windowLengthMs = (window: string): number => (window === "five_hour" ? 5 * 3_600_000 : 7 * 86_400_000);
