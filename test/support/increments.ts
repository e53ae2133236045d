import type { Db } from "../../shared/context.ts";

/** A report row written straight into resource_share_increments (no webhook in between). */
export interface TestIncrement {
  claude_name: string;
  /** Stored as given: ISO-8601 UTC, or the original system's "YYYY-MM-DD HH:MM:SS". */
  timestamp: string;
  mode: "autonomy" | "collaboration";
  cache_read_increment: number;
  cost_delta?: number | null;
}

export async function insertIncrements(db: Db, rows: TestIncrement[], receivedAt = new Date().toISOString()): Promise<void> {
  if (rows.length === 0) return;
  await db.batch(
    rows.map((r) => ({
      sql: `INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta, received_at)
        VALUES (?, ?, ?, ?, ?, ?)`,
      args: [r.claude_name, r.timestamp, r.mode, r.cache_read_increment, r.cost_delta ?? null, receivedAt],
    })),
    "write",
  );
}

/** A small seeded random generator (mulberry32): the same data on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
