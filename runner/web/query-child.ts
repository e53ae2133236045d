/**
 * Runs one console query in its own process, so the viewer can enforce a
 * time limit: a SQLite query runs inside one synchronous native call that
 * no timer in the same process can interrupt, but a process can be killed.
 * Started ahead of need. Line 1 on stdin names the database
 * ({url, authToken}); once its query-only connection is open it prints
 * "ready". Line 2 is the job ({sql, cap}); the result goes to stdout as JSON.
 */
import { createInterface } from "node:readline";
import { openDatabase, type Database } from "../../shared/db.ts";

interface Job {
  sql: string;
  cap: number;
}

const toJson = (value: unknown): unknown => {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof ArrayBuffer) return `BLOB (${value.byteLength} bytes)`;
  return value;
};

async function run(database: Database, job: Job): Promise<unknown> {
  try {
    // The checked statement becomes a subquery: only a query parses there,
    // and the LIMIT stops SQLite early instead of truncating afterwards.
    // database.db: on a libSQL server (no query_only there) it runs the
    // query in a transaction that is always rolled back (shared/readOnly.ts).
    const rs = await database.db.execute(`SELECT * FROM (${job.sql}\n) LIMIT ${job.cap + 1}`);
    const rows = rs.rows.slice(0, job.cap).map((r) => rs.columns.map((_, i) => toJson(r[i])));
    return { ok: true, columns: rs.columns, rows, truncated: rs.rows.length > job.cap };
  } catch (err) {
    const e = err as { message?: string };
    return { ok: false, message: String(e.message ?? err).replace(/^SQLITE_\w+: /, "") };
  }
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const fail = (message: string) => process.stdout.write(JSON.stringify({ ok: false, message }));
const first = await lines.next();
if (!first.done) {
  let database: Database | undefined;
  try {
    const target = JSON.parse(first.value) as { url: string; authToken?: string };
    // On a file: how long to wait for a writer's lock. On a libSQL server the
    // same setting cuts off any call, so there it leaves the time limit (the
    // viewer kills this process) to decide.
    const waitMs = target.url.startsWith("file:") ? 1000 : 60_000;
    database = await openDatabase({ url: target.url, authToken: target.authToken, queryOnly: true, busyTimeoutMs: waitMs });
    // A server connection is made on first use (endpoint probe, first
    // request): make it now, so the time limit measures the query alone.
    if (!database.isFile) await database.db.execute("SELECT 1");
    process.stdout.write("ready\n");
  } catch (err) {
    fail(`Could not open the database: ${(err as Error).message}`);
  }
  const second = database ? await lines.next() : { done: true as const, value: undefined };
  if (database && !second.done) process.stdout.write(JSON.stringify(await run(database, JSON.parse(second.value) as Job)));
  database?.close();
}
process.exit(0);
