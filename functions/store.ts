import type { InStatement } from "@libsql/client";
import type { Db } from "../shared/context.ts";
import type { IncrementRow } from "./report.ts";

export interface StoredIncrement {
  id: number;
  /** True when this event id was stored before: nothing new was written. */
  duplicate: boolean;
  /** The stored row's time and tokens: for a duplicate, those of the first report. */
  timestamp: string;
  cache_read_increment: number;
}

const REGISTER = `INSERT INTO claude_identities (name, first_seen, last_seen, active) VALUES (?, ?, ?, 1)
  ON CONFLICT (name) DO UPDATE SET last_seen = max(coalesce(last_seen, ''), excluded.last_seen), active = 1`;

const INSERT = `INSERT INTO resource_share_increments
  (claude_name, timestamp, mode, cache_read_increment, context_percentage, cost_delta, event_id, received_at, host)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (claude_name, event_id) DO NOTHING
  RETURNING id`;

const FIND_EVENT =
  "SELECT id, timestamp, cache_read_increment FROM resource_share_increments WHERE claude_name = ? AND event_id = ?";

/**
 * Stores rows in one atomic batch: all or none. A row whose event id is
 * already stored for that agent is not stored again; its existing id comes
 * back with `duplicate: true`.
 */
export async function storeIncrements(db: Db, rows: IncrementRow[]): Promise<StoredIncrement[]> {
  const statements: InStatement[] = [];
  for (const r of rows) {
    statements.push({ sql: REGISTER, args: [r.claude_name, r.received_at, r.received_at] });
    statements.push({
      sql: INSERT,
      args: [r.claude_name, r.timestamp, r.mode, r.cache_read_increment, r.context_percentage, r.cost_delta, r.event_id, r.received_at, r.host],
    });
    if (r.event_id !== null) statements.push({ sql: FIND_EVENT, args: [r.claude_name, r.event_id] });
  }
  const results = await db.batch(statements, "write");
  const stored: StoredIncrement[] = [];
  let i = 0;
  for (const r of rows) {
    i++; // REGISTER
    const inserted = results[i++]!.rows[0];
    if (r.event_id === null) {
      stored.push({ id: Number(inserted!.id), duplicate: false, timestamp: r.timestamp, cache_read_increment: r.cache_read_increment });
    } else {
      const found = results[i++]!.rows[0]!;
      stored.push({
        id: Number(found.id),
        duplicate: inserted === undefined,
        timestamp: String(found.timestamp),
        cache_read_increment: Number(found.cache_read_increment),
      });
    }
  }
  return stored;
}
