import { describe, expect, it } from "vitest";
import { emptyLedger } from "../../../functions/advice/ledger.ts";
import { loadFamilyState } from "../../../functions/advice/load.ts";
import { ingest } from "../../../functions/ingest.ts";
import type { Db } from "../../../shared/context.ts";
import { testConfig, testContext } from "../../support/context.ts";
import { openTestDatabase } from "../../support/database.ts";

const NOW = Date.parse("2026-12-05T12:00:00Z");
const config = testConfig();

/** An agent's autonomous reports every `every` seconds over the last `hours`, each advised `interval`. */
async function history(db: Db, name: string, { every, interval, tokens, hours }: { every: number; interval: number | null; tokens: number; hours: number }) {
  const rows: [string, string, number, number | null][] = [];
  for (let t = NOW - hours * 3_600_000; t < NOW; t += every * 1000) rows.push([name, new Date(t).toISOString(), tokens, interval]);
  await db.batch(
    rows.map((args) => ({ sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval) VALUES (?, ?, 'autonomy', ?, ?)", args })),
    "write",
  );
  await db.execute({ sql: "INSERT INTO claude_identities (name, first_seen, last_seen) VALUES (?, ?, ?)", args: [name, rows[0]![1], rows.at(-1)![1]] });
}

describe("loadFamilyState", () => {
  it("measures an agent's cost per prompt from its own reports and the intervals it was advised", async () => {
    const db = await openTestDatabase();
    // Obeys its advice: one 40k report per 900 s prompt.
    await history(db.db, "Obedient", { every: 900, interval: 900, tokens: 40_000, hours: 12 });
    // Reports every 300 s while prompted every 1800 s: 6 reports share one prompt's 90k tokens.
    await history(db.db, "Chatty-Reporter", { every: 300, interval: 1800, tokens: 15_000, hours: 12 });
    // An earlier client: no advised interval stored, so no measure of its own.
    await history(db.db, "Old-Client", { every: 60, interval: null, tokens: 1_000, hours: 12 });
    const state = await loadFamilyState(db.db, NOW, config);
    const cost = Object.fromEntries(state.agents.map((a) => [a.name, a.costPerPrompt]));
    expect(cost.Obedient).toBeCloseTo(40_000, -2);
    expect(cost["Chatty-Reporter"]).toBeCloseTo(90_000, -3);
    expect(cost["Old-Client"]).toBeNull();
  });

  it("never feeds the client's current_interval back: the same state with 60 and 86400 gives the same advice", async () => {
    const answers = [];
    for (const current of [60, 86400]) {
      const db = await openTestDatabase();
      await history(db.db, "Sparkle-Orange", { every: 900, interval: 900, tokens: 40_000, hours: 12 });
      await history(db.db, "Quill-Blue", { every: 1800, interval: 1800, tokens: 200_000, hours: 12 });
      const result = await ingest({ claude_name: "Sparkle-Orange", cache_read_increment: 40_000, mode: "autonomy", current_interval: current }, testContext(db.db, { now: NOW }));
      if (!result.ok) throw new Error(result.error.message);
      const { recommended_interval, multipliers, quota_status, advice } = result.value;
      answers.push({ recommended_interval, multipliers, quota_status, advice });
    }
    expect(answers[0]!.recommended_interval).toEqual(expect.any(Number));
    expect(answers[1]).toEqual(answers[0]);
  });

  it("keeps a ledger up to date from the new reports alone, ending where a fresh load of the same database ends", async () => {
    const db = await openTestDatabase();
    await history(db.db, "Early", { every: 600, interval: 600, tokens: 30_000, hours: 30 });
    const ledger = emptyLedger();
    const first = await loadFamilyState(db.db, NOW, config, ledger);
    // Later reports: Early keeps on, Late starts, one of them replayed from yesterday.
    const later = NOW + 3 * 3_600_000;
    for (let t = NOW; t < later; t += 600_000)
      await db.db.execute({ sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval) VALUES ('Early', ?, 'autonomy', 30000, 600)", args: [new Date(t).toISOString()] });
    await history(db.db, "Late", { every: 1200, interval: 1200, tokens: 80_000, hours: 1 });
    await db.db.execute({ sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Late', ?, 'collaboration', 5000)", args: [new Date(NOW - 20 * 3_600_000).toISOString()] });
    const kept = await loadFamilyState(db.db, later, config, ledger);
    const fresh = await loadFamilyState(db.db, later, config);
    expect(first.agents.map((a) => a.name)).toEqual(["Early"]);
    const figures = (s: typeof kept) => s.agents.map((a) => [a.name, Math.round(a.auto2h), Math.round(a.auto24h), Math.round(a.auto7d), Math.round(a.costPerPrompt ?? -1)]);
    expect(figures(kept)).toEqual(figures(fresh));
    expect(kept.humanTokensPerWorkingSecond).toBeCloseTo(fresh.humanTokensPerWorkingSecond, 6);
    expect(Math.round(kept.agents[0]!.costPerPrompt!)).toBe(30_000);
  });
});
