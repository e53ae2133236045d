import type { InStatement, ResultSet } from "../shared/libsql.ts";
import type { Db } from "../shared/context.ts";
import { insertQuotaRows, insertQuotaRowsOfNewEvent, type QuotaRow } from "./quota/observation.ts";
import type { IncrementRow } from "./report.ts";

/** What storing needs of a database: a handler's Db, or the webhook's own connection (runner/platform/file-connection.ts). */
export type Writes = Pick<Db, "execute" | "batch" | "protocol">;

export interface StoredIncrement {
  id: number;
  /** True when this event id was stored before: nothing new was written. */
  duplicate: boolean;
  /** The stored row's time and tokens: for a duplicate, those of the first report. */
  timestamp: string;
  cache_read_increment: number;
}

// Rows per statement: 15 parameters each stays far below SQLite's limit of
// 32,766, and one statement for many rows is what makes a burst cheap
// (preparing a statement costs more than inserting a row with it).
const CHUNK = 500;

const COLUMNS = [
  "claude_name", "timestamp", "mode", "cache_read_increment", "context_percentage", "cost_delta", "event_id", "received_at", "host",
  "recommended_interval", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "model",
] as const;

// Absent is NULL: a row spooled before migration 6 has no token classes, a report without advice no interval.
const valuesOf = (r: IncrementRow) => COLUMNS.map((c) => r[c] ?? null);

const values = (n: number, row: string) => Array.from({ length: n }, () => row).join(", ");

// The SQL text for n rows is built once for the sizes a group commit has
// (the same text is what finds a prepared statement again); a large batch's
// is built when needed, as it is rare and would hold kilobytes per size.
const MEMO_ROWS = 64;
function bySize(build: (n: number) => string): (n: number) => string {
  const built: string[] = [];
  return (n) => (n > MEMO_ROWS ? build(n) : (built[n] ??= build(n)));
}

const ON_AGENT = `ON CONFLICT (name) DO UPDATE SET last_seen = max(coalesce(last_seen, ''), excluded.last_seen), active = 1`;

const register = bySize((n) => `INSERT INTO claude_identities (name, first_seen, last_seen, active) VALUES ${values(n, "(?, ?, ?, 1)")}
  ${ON_AGENT}`);

/**
 * A repeated event id must change nothing: not the agent's last_seen, and
 * not the AUTOINCREMENT counters either, which an INSERT moves for every
 * row it tries, even one that ON CONFLICT then skips or turns into an
 * update. So rows with event ids are filtered before they are tried: only
 * those whose (agent, event id) is not stored yet reach the INSERT, and only
 * they register their agent. `notStored` is that test, one seek on the
 * unique index increments_event. (A new report of a known agent still moves
 * claude_identities' counter through the upsert: a gap in ids nobody reads.)
 */
const notStored = (name: string, eventId: string) => `NOT EXISTS (SELECT 1 FROM resource_share_increments AS i
    WHERE i.claude_name = ${name} AND i.event_id = ${eventId} AND i.event_id IS NOT NULL)`;

/** Agents of rows with event ids: (name, received_at, event_id) per row, registered by their new reports only. */
const registerNew = bySize((n) => `INSERT INTO claude_identities (name, first_seen, last_seen, active)
  SELECT v.column1, min(v.column2), max(v.column2), 1 FROM (VALUES ${values(n, "(?, ?, ?)")}) AS v
  WHERE ${notStored("v.column1", "v.column3")}
  GROUP BY v.column1
  ${ON_AGENT}`);

const ROW = `(${COLUMNS.map(() => "?").join(", ")})`;
const column = (c: (typeof COLUMNS)[number]) => `v.column${COLUMNS.indexOf(c) + 1}`;

/** Rows without event ids: every one is inserted, so its id follows from the last one's. */
const insertPlain = bySize((n) => `INSERT INTO resource_share_increments (${COLUMNS.join(", ")}) VALUES ${values(n, ROW)}`);
/** Rows with event ids: new ones only, told from repeats by the rows it returns. */
const insertReturning = bySize((n) => `INSERT INTO resource_share_increments (${COLUMNS.join(", ")})
  SELECT ${COLUMNS.map(column).join(", ")} FROM (VALUES ${values(n, ROW)}) AS v
  WHERE ${notStored(column("claude_name"), column("event_id"))}
  ON CONFLICT (claude_name, event_id) WHERE event_id IS NOT NULL DO NOTHING
  RETURNING id, claude_name, event_id`);

// A join, not \`(claude_name, event_id) IN (VALUES ...)\`: SQLite answers
// that row-value IN by scanning the whole table, the join by index seeks.
const findEvents = (n: number) => `SELECT i.id, i.claude_name, i.event_id, i.timestamp, i.cache_read_increment
  FROM (VALUES ${values(n, "(?, ?)")}) AS wanted
  JOIN resource_share_increments AS i ON i.claude_name = wanted.column1 AND i.event_id = wanted.column2
  WHERE i.event_id IS NOT NULL`;

const eventKey = (name: unknown, eventId: unknown) => JSON.stringify([name, eventId]);

/**
 * Stores rows atomically: all or none. A row whose event id is already
 * stored for that agent (or earlier in `rows`) is not stored again; its
 * existing id comes back with `duplicate: true`.
 *
 * Up to CHUNK rows are one INSERT statement, beside one upsert that
 * registers their agents: a burst of reports costs two statements in one
 * transaction, not two per report.
 *
 * How each row's id is learnt:
 * - A chunk without event ids (the agents' timers send none) is inserted
 *   whole, and SQLite numbers the rows of one INSERT in the order of VALUES,
 *   each one more than the last (AUTOINCREMENT, one writer at a time): the
 *   ids run up to the last inserted rowid. Asking SQLite to return the rows
 *   instead costs a result object per call that only a full garbage
 *   collection frees, which grew the webhook's memory under load.
 * - A chunk with event ids uses RETURNING, which tells the inserted rows
 *   from repeats. It returns them in no promised order; sorted by id they
 *   line up with the input rows that were inserted, each pairing checked
 *   (agent, event id).
 */
export async function storeIncrements(db: Writes, rows: IncrementRow[]): Promise<StoredIncrement[]> {
  if (rows.length === 0) return [];
  const chunks: IncrementRow[][] = [];
  for (let at = 0; at < rows.length; at += CHUNK) chunks.push(rows.slice(at, at + CHUNK));
  const withEvents = chunks.map((chunk) => chunk.some((r) => r.event_id !== null));
  const statements = chunks.flatMap((chunk, i) => {
    if (!withEvents[i]) return [registerAgents(chunk), { sql: insertPlain(chunk.length), args: chunk.flatMap(valuesOf) }];
    const firsts = firstOfEachEvent(chunk);
    return [
      { sql: registerNew(firsts.length), args: firsts.flatMap((r) => [r.claude_name, r.received_at, r.event_id]) },
      { sql: insertReturning(firsts.length), args: firsts.flatMap(valuesOf) },
    ];
  });
  // A report's rate_limits readings go in with it, first (the reports' own results are read by position after them).
  const quota = rows.some((r) => r.quota !== undefined) ? quotaStatements(rows) : [];
  const results = await db.batch(quota.length ? [...quota, ...statements] : statements, "write");
  const stored: StoredIncrement[] = [];
  for (const [i, chunk] of chunks.entries()) {
    const inserted = results[quota.length + 2 * i + 1]!;
    stored.push(...(withEvents[i] ? await matchChunk(db, chunk, inserted) : numbered(chunk, inserted)));
  }
  return stored;
}

/**
 * The readings of the reports that carry some. A report with an event id
 * adds its readings only while that event is not stored yet, and only its
 * first copy in this call does: a repeat changes nothing.
 */
function quotaStatements(rows: IncrementRow[]): InStatement[] {
  const plain: QuotaRow[] = [];
  const perEvent: InStatement[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!r.quota) continue;
    if (r.event_id === null) plain.push(...r.quota);
    else if (!seen.has(eventKey(r.claude_name, r.event_id))) {
      seen.add(eventKey(r.claude_name, r.event_id));
      perEvent.push(insertQuotaRowsOfNewEvent(r.quota, r.claude_name, r.event_id));
    }
  }
  return [...insertQuotaRows(plain), ...perEvent];
}

/** The ids of a chunk without event ids: consecutive, ending at the last rowid inserted. */
function numbered(chunk: IncrementRow[], inserted: ResultSet): StoredIncrement[] {
  const last = inserted.lastInsertRowid;
  if (inserted.rowsAffected !== chunk.length || last === undefined)
    throw new Error(`storeIncrements: ${inserted.rowsAffected} of ${chunk.length} reports without event ids were inserted (at ${chunk[0]!.claude_name}); the ids answered would be wrong`);
  const first = Number(last) - chunk.length + 1;
  return chunk.map((r, i) => ({ id: first + i, duplicate: false, timestamp: r.timestamp, cache_read_increment: r.cache_read_increment }));
}

/**
 * The chunk without the later reports of an event id it already holds: the
 * first is stored (or found stored), the rest are its duplicates and must
 * not be tried, nor move the agent's last_seen.
 */
function firstOfEachEvent(chunk: IncrementRow[]): IncrementRow[] {
  const seen = new Set<string>();
  return chunk.filter((r) => {
    if (r.event_id === null) return true;
    const key = eventKey(r.claude_name, r.event_id);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One upsert per agent in the chunk: first seen at its earliest report, last seen at its latest. */
function registerAgents(chunk: IncrementRow[]): InStatement {
  const seen = new Map<string, { first: string; last: string }>();
  for (const r of chunk) {
    const s = seen.get(r.claude_name);
    if (!s) seen.set(r.claude_name, { first: r.received_at, last: r.received_at });
    else {
      if (r.received_at < s.first) s.first = r.received_at;
      if (r.received_at > s.last) s.last = r.received_at;
    }
  }
  return { sql: register(seen.size), args: [...seen].flatMap(([name, s]) => [name, s.first, s.last]) };
}

async function matchChunk(db: Writes, chunk: IncrementRow[], inserted: ResultSet): Promise<StoredIncrement[]> {
  const fresh = inserted.rows
    .map((r) => ({ id: Number(r.id), claude_name: r.claude_name, event_id: r.event_id }))
    .sort((a, b) => a.id - b.id);
  const freshEvents = new Set<string>();
  for (const r of fresh) if (r.event_id !== null) freshEvents.add(eventKey(r.claude_name, r.event_id));
  // What a repeated event id is answered with: the stored row's id, time and tokens.
  const firstOf = new Map<string, Omit<StoredIncrement, "duplicate">>();
  // Repeats of events stored before: their rows exist and never change, so a plain read finds them.
  const repeats = chunk.filter((r) => r.event_id !== null && !freshEvents.has(eventKey(r.claude_name, r.event_id)));
  if (repeats.length > 0) {
    const found = await db.execute({ sql: findEvents(repeats.length), args: repeats.flatMap((r) => [r.claude_name, r.event_id]) });
    for (const row of found.rows)
      firstOf.set(eventKey(row.claude_name, row.event_id), {
        id: Number(row.id),
        timestamp: String(row.timestamp),
        cache_read_increment: Number(row.cache_read_increment),
      });
  }
  let next = 0;
  return chunk.map((r) => {
    const key = r.event_id === null ? undefined : eventKey(r.claude_name, r.event_id);
    // A fresh event is inserted once: by its first report here; later ones are its duplicates.
    if (key === undefined || freshEvents.delete(key)) {
      const row = fresh[next++];
      if (!row || row.claude_name !== r.claude_name || row.event_id !== r.event_id)
        throw new Error(`storeIncrements: the stored rows do not line up with the reports (at ${r.claude_name}); the rows are stored, the ids answered would be wrong`);
      const stored = { id: row.id, timestamp: r.timestamp, cache_read_increment: r.cache_read_increment };
      if (key !== undefined) firstOf.set(key, stored);
      return { ...stored, duplicate: false };
    }
    const first = firstOf.get(key);
    if (first === undefined) throw new Error(`storeIncrements: event ${r.event_id} of ${r.claude_name} is neither stored nor found`);
    return { ...first, duplicate: true };
  });
}
