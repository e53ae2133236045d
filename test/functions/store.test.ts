import { describe, expect, it } from "vitest";
import type { IncrementRow } from "../../functions/report.ts";
import { storeIncrements } from "../../functions/store.ts";
import { openStore } from "../support/backends.ts";

const at = "2026-03-01T10:00:00.000Z";
const row = (over: Partial<IncrementRow> = {}): IncrementRow => ({
  claude_name: "Sparkle-Orange",
  timestamp: at,
  mode: "autonomy",
  cache_read_increment: 100,
  context_percentage: null,
  cost_delta: null,
  event_id: null,
  received_at: at,
  host: null,
  ...over,
});

describe("storeIncrements", () => {
  it("gives every row without an event id the id of its own stored row", async () => {
    const db = await openStore();
    const rows = Array.from({ length: 40 }, (_, i) =>
      row({ claude_name: `Agent-${i % 7}`, cache_read_increment: i, mode: i % 3 ? "autonomy" : "collaboration", cost_delta: i / 7 }),
    );
    const stored = await storeIncrements(db.db, rows);
    const byId = new Map(db.rows<{ id: number; claude_name: string; cache_read_increment: number }>("SELECT id, claude_name, cache_read_increment FROM resource_share_increments").map((r) => [r.id, r]));
    expect(byId.size).toBe(40);
    stored.forEach((s, i) => {
      expect(s.duplicate).toBe(false);
      expect(byId.get(s.id)).toEqual({ id: s.id, claude_name: rows[i]!.claude_name, cache_read_increment: i });
    });
  });

  it("answers the ids the table holds after ids were used and their rows deleted (AUTOINCREMENT skips them)", async () => {
    const db = await openStore();
    await storeIncrements(db.db, [row({ cache_read_increment: 1 }), row({ cache_read_increment: 2 }), row({ cache_read_increment: 3 })]);
    // The newest rows gone: the next ids continue after them, not after the rows left.
    await db.db.execute("DELETE FROM resource_share_increments WHERE cache_read_increment > 1");
    const rows = Array.from({ length: 5 }, (_, i) => row({ claude_name: `Agent-${i % 2}`, cache_read_increment: 10 + i }));
    const stored = await storeIncrements(db.db, rows);
    const held = db.rows<{ id: number; cache_read_increment: number }>("SELECT id, cache_read_increment FROM resource_share_increments WHERE cache_read_increment >= 10 ORDER BY id");
    expect(stored.map((s) => ({ id: s.id, cache_read_increment: s.cache_read_increment }))).toEqual(held);
    expect(held[0]!.id).toBe(4);
  });

  it("stores rows equal in every value each once, with distinct ids", async () => {
    const db = await openStore();
    const stored = await storeIncrements(db.db, [row(), row(), row()]);
    expect(new Set(stored.map((s) => s.id)).size).toBe(3);
    expect(db.rows("SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 3 }]);
  });

  it("stores an event id once, answering the stored id to repeats in the same call and in later calls", async () => {
    const db = await openStore();
    const [first, again, other] = await storeIncrements(db.db, [
      row({ event_id: "e1", cache_read_increment: 5 }),
      row({ event_id: "e1", cache_read_increment: 6 }),
      row({ event_id: "e1", claude_name: "Quiet-Teal" }),
    ]);
    expect(first).toEqual({ id: first!.id, duplicate: false, timestamp: at, cache_read_increment: 5 });
    // A repeat is answered with what the first report stored.
    expect(again).toEqual({ id: first!.id, duplicate: true, timestamp: at, cache_read_increment: 5 });
    expect(other!.duplicate).toBe(false);
    expect(other!.id).not.toBe(first!.id);
    const [later] = await storeIncrements(db.db, [row({ event_id: "e1", timestamp: "2026-03-01T10:05:00.000Z" })]);
    expect(later).toEqual({ id: first!.id, duplicate: true, timestamp: at, cache_read_increment: 5 });
    expect(db.rows("SELECT claude_name, cache_read_increment FROM resource_share_increments ORDER BY id")).toEqual([
      { claude_name: "Sparkle-Orange", cache_read_increment: 5 },
      { claude_name: "Quiet-Teal", cache_read_increment: 100 },
    ]);
  });

  it("changes nothing for a repeated event id, alone or in a batch: no row, no id used up, last_seen where it was", async () => {
    const db = await openStore();
    const later = (minutes: number) => `2026-03-01T${String(10 + Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}:00.000Z`;
    const [e1, e2] = await storeIncrements(db.db, [row({ event_id: "e1" }), row({ event_id: "e2", claude_name: "Quiet-Teal" })]);
    const state = () => ({
      counters: db.rows("SELECT name, seq FROM sqlite_sequence ORDER BY name"),
      agents: db.rows("SELECT id, name, first_seen, last_seen FROM claude_identities ORDER BY id"),
      rows: db.rows("SELECT id, claude_name, event_id, received_at FROM resource_share_increments ORDER BY id"),
    });
    const before = state();

    const [single] = await storeIncrements(db.db, [row({ event_id: "e1", received_at: later(60) })]);
    expect(single).toMatchObject({ id: e1!.id, duplicate: true });
    expect(state()).toEqual(before);
    const batch = await storeIncrements(db.db, [
      row({ event_id: "e2", claude_name: "Quiet-Teal", received_at: later(61) }),
      row({ event_id: "e1", received_at: later(62) }),
      row({ event_id: "e1", received_at: later(63) }),
    ]);
    expect(batch.map((s) => [s.id, s.duplicate])).toEqual([[e2!.id, true], [e1!.id, true], [e1!.id, true]]);
    expect(state()).toEqual(before);

    // Beside a new report, repeats (stored before, or earlier in the same batch) still move nothing.
    const mixed = await storeIncrements(db.db, [
      row({ event_id: "e1", received_at: later(70) }),
      row({ event_id: "e3", received_at: later(65) }),
      row({ event_id: "e3", received_at: later(80) }),
    ]);
    expect(mixed.map((s) => [s.id, s.duplicate])).toEqual([[e1!.id, true], [e2!.id + 1, false], [e2!.id + 1, true]]);
    expect(db.rows("SELECT seq FROM sqlite_sequence WHERE name = 'resource_share_increments'")).toEqual([{ seq: e2!.id + 1 }]);
    expect(db.rows("SELECT last_seen FROM claude_identities WHERE name = 'Sparkle-Orange'")).toEqual([{ last_seen: later(65) }]);
  });

  it("stores a backlog larger than one statement holds, all of it", async () => {
    const db = await openStore();
    const rows = Array.from({ length: 1203 }, (_, i) => row({ cache_read_increment: i, event_id: i % 2 ? `ev-${i}` : null }));
    const stored = await storeIncrements(db.db, rows);
    expect(new Set(stored.map((s) => s.id)).size).toBe(1203);
    const ids = db.rows<{ id: number; cache_read_increment: number }>("SELECT id, cache_read_increment FROM resource_share_increments");
    const tokensById = new Map(ids.map((r) => [r.id, r.cache_read_increment]));
    stored.forEach((s, i) => expect(tokensById.get(s.id)).toBe(i));
  });

  it("registers each agent with its first and last report, in the same transaction", async () => {
    const db = await openStore();
    await storeIncrements(db.db, [
      row({ received_at: "2026-03-01T10:00:02.000Z" }),
      row({ received_at: "2026-03-01T10:00:01.000Z" }),
      row({ received_at: "2026-03-01T10:00:03.000Z", claude_name: "Quiet-Teal" }),
    ]);
    await storeIncrements(db.db, [row({ received_at: "2026-03-01T09:00:00.000Z" })]);
    expect(db.rows("SELECT name, first_seen, last_seen, active FROM claude_identities ORDER BY name")).toEqual([
      { name: "Quiet-Teal", first_seen: "2026-03-01T10:00:03.000Z", last_seen: "2026-03-01T10:00:03.000Z", active: 1 },
      // A report received earlier but stored later moves neither.
      { name: "Sparkle-Orange", first_seen: "2026-03-01T10:00:01.000Z", last_seen: "2026-03-01T10:00:02.000Z", active: 1 },
    ]);
  });

  it("stores nothing when one row breaks a constraint", async () => {
    const db = await openStore();
    await expect(storeIncrements(db.db, [row(), row({ mode: "sleeping" as never })])).rejects.toThrow(/CHECK/);
    expect(db.rows("SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 0 }]);
    expect(db.rows("SELECT count(*) AS n FROM claude_identities")).toEqual([{ n: 0 }]);
  });
});
