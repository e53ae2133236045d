/**
 * A seeded random family of agents with the rhythms of the real one: every
 * agent reports about every 30 s, a human attaches to its tmux session in
 * working hours more than at night (mode switches), work comes in bursts
 * with idle stretches (0-token reports), and clients of all three
 * generations post. The same seed always gives the same family and the same
 * reports, so two runs load the service with the same traffic.
 */

import { seededRandom as random } from "../support/increments.ts";

export type ClientGeneration = "tokens" | "context" | "cost";

export interface Agent {
  name: string;
  host: string;
  /** Which generation of the timer script posts for it (see README, API). */
  client: ClientGeneration;
  /** Typical cache-read tokens per 30 s while it works. */
  baseTokens: number;
  /** Share of 30 s slots in which it does any work. */
  busy: number;
  /** How likely a human is attached in working hours (09-18 local). */
  attachedByDay: number;
}

const ADJECTIVES = ["Sparkle", "Quiet", "Brisk", "Amber", "Lucid", "Nimble", "Velvet", "Steady", "Bold", "Misty"];
const COLOURS = ["Orange", "Teal", "Indigo", "Crimson", "Olive", "Silver", "Coral", "Jade", "Azure", "Umber"];
const CLIENTS: ClientGeneration[] = ["tokens", "context", "cost"];

export function family(seed: number, size = 20): Agent[] {
  const r = random(seed);
  const names = new Set<string>();
  const agents: Agent[] = [];
  while (agents.length < size) {
    const name = `${ADJECTIVES[Math.floor(r() * ADJECTIVES.length)]}-${COLOURS[Math.floor(r() * COLOURS.length)]}`;
    const unique = names.has(name) ? `${name}-${agents.length}` : name;
    names.add(unique);
    agents.push({
      name: unique,
      // A few agents share each machine, as tmux sessions do.
      host: `clap-${1 + Math.floor(agents.length / 5)}`,
      client: CLIENTS[Math.floor(r() * CLIENTS.length)]!,
      baseTokens: Math.round(20_000 + r() * 180_000),
      busy: 0.4 + r() * 0.5,
      attachedByDay: 0.2 + r() * 0.6,
    });
  }
  return agents;
}

/** Chance that a human is attached at a local hour, for an agent. */
export function attachedChance(agent: Agent, hour: number): number {
  if (hour >= 9 && hour < 18) return agent.attachedByDay;
  if (hour >= 18 && hour < 23) return agent.attachedByDay / 3;
  return 0.02;
}

export interface Report {
  agent: Agent;
  mode: "autonomy" | "collaboration";
  tokens: number;
  cost: number;
  context: number;
}

/**
 * The reports of a family, in the order they arrive: one per agent per 30 s
 * slot, `slots` slots long, starting at local hour `startHour`. Attachment
 * is decided per 10-minute stretch so modes come in sessions, not flickers.
 */
export function reports(agents: Agent[], seed: number, slots: number, startHour = 9): Report[] {
  const r = random(seed ^ 0x5eed);
  const out: Report[] = [];
  const attached = agents.map(() => false);
  const context = agents.map(() => r() * 30);
  for (let slot = 0; slot < slots; slot++) {
    const hour = Math.floor(startHour + slot / 120) % 24;
    agents.forEach((agent, i) => {
      if (slot % 20 === 0) attached[i] = r() < attachedChance(agent, hour);
      const working = r() < agent.busy;
      // Log-normal-ish bursts: most reports near the base, a few large.
      const tokens = working ? Math.round(agent.baseTokens * Math.exp((r() - 0.5) * 1.6)) : 0;
      context[i] = tokens === 0 ? context[i]! : (context[i]! + tokens / 40_000) % 100;
      out.push({
        agent,
        mode: attached[i] ? "collaboration" : "autonomy",
        tokens,
        // Cache reads at $0.30 per million tokens, plus some output.
        cost: tokens === 0 ? 0 : Number((tokens * 3e-7 + r() * 0.004).toFixed(6)),
        context: Number(context[i]!.toFixed(1)),
      });
    });
  }
  return out;
}

/** The JSON body the agent's generation of timer script posts. */
export function body(report: Report): string {
  const { agent, mode, tokens, cost, context } = report;
  switch (agent.client) {
    case "tokens":
      return JSON.stringify({ claude_name: agent.name, cache_read_increment: tokens, mode });
    case "context":
      return JSON.stringify({ claude_name: agent.name, cache_read_increment: tokens, mode, context_percentage: context });
    case "cost":
      return JSON.stringify({
        claude_name: agent.name,
        cache_read_increment: tokens,
        cost_delta: cost,
        mode,
        current_interval: 30,
        hostname: agent.host,
        ip_address: "127.0.1.1",
      });
  }
}
