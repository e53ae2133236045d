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
