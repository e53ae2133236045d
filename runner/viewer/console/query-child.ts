/**
 * Runs console queries in a process of its own, so the viewer can enforce a
 * time limit: a SQLite query runs inside one synchronous native call that
 * no timer in the same process can interrupt, but a process can be killed.
 * Started ahead of need. Line 1 on stdin names the database
 * ({url, authToken}); once its read-only connection is open it prints
 * "ready". Every further line is a job ({sql, cap}), answered on stdout as
 * one line of JSON, in order; the process ends when stdin does.
 *
 * Before it runs, the query is compiled and its program checked
 * (program-check.ts). On a file that happens on the connection that
 * runs it, opened read-only. A libSQL server cannot be asked what it would
 * execute, so there the query is compiled on an empty in-memory copy of
 * the server's schema, and runs only if that copy's program passes.
 */
import { createInterface } from "node:readline";
import Sqlite from "libsql";
import { openDatabase, type Database } from "../../platform/libsql-client.ts";
import { filePath } from "../../platform/database.ts";
import { openReadOnlyFile } from "../../platform/file-connection.ts";
import { checkProgram, prepareChecks } from "./program-check.ts";

interface Job {
  sql: string;
  cap: number;
}

interface Columns {
  columns: string[];
  rows: unknown[][];
}

/** Where the query is checked, and how it then runs. */
interface Target {
  checker: Sqlite.Database;
  run(sql: string): Promise<Columns>;
  close(): void;
}

const toJson = (value: unknown): unknown => {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof ArrayBuffer || value instanceof Uint8Array) return `BLOB (${value.byteLength} bytes)`;
  return value;
};

function fileTarget(path: string): Target {
  // How long to wait for a writer's lock (a WAL reader rarely needs one).
  const db = openReadOnlyFile(path, 1000);
  db.defaultSafeIntegers(true);
  return {
    checker: db,
    async run(sql) {
      const stmt = db.prepare(sql).raw(true);
      return { columns: stmt.columns().map((c) => c.name), rows: stmt.all() as unknown[][] };
    },
    close: () => db.close(),
  };
}

async function serverTarget(url: string, authToken: string | undefined): Promise<Target> {
  // A server connection is made on first use; reading the schema makes it
  // now, so the time limit measures the query alone. The same setting cuts
  // off any call to a server, so it leaves the time limit (the viewer kills
  // this process) to decide.
  const remote: Database = await openDatabase({ url, authToken, queryOnly: true, busyTimeoutMs: 60_000 });
  const checker = new Sqlite(":memory:");
  try {
    const schema = await remote.db.execute(
      "SELECT sql FROM sqlite_schema WHERE type IN ('table', 'view') AND sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    );
    for (const { sql } of schema.rows) {
      // Virtual tables (and their shadow tables) stay out: a query of one is refused anyway.
      if (/^\s*CREATE\s+VIRTUAL\b/i.test(String(sql))) continue;
      try {
        checker.exec(String(sql));
      } catch {
        // A table that cannot be made here is missing from the copy: a query of it fails to compile and is not run.
      }
    }
  } catch (err) {
    checker.close();
    remote.close();
    throw err;
  }
  return {
    checker,
    async run(sql) {
      // database.db is read-only: single reading statements, in a transaction always rolled back (runner/platform/read-only-db.ts).
      const rs = await remote.db.execute(sql);
      return { columns: rs.columns, rows: rs.rows.map((r) => rs.columns.map((_, i) => r[i])) };
    },
    close() {
      checker.close();
      remote.close();
    },
  };
}

async function run(target: Target, job: Job): Promise<unknown> {
  try {
    // The checked statement becomes a subquery: only a query parses there,
    // and the LIMIT stops SQLite early instead of truncating afterwards.
    const sql = `SELECT * FROM (${job.sql}\n) LIMIT ${job.cap + 1}`;
    const verdict = checkProgram(target.checker, sql);
    if (!verdict.ok) return { ok: false, refused: true, message: verdict.message };
    const { columns, rows } = await target.run(sql);
    return { ok: true, columns, rows: rows.slice(0, job.cap).map((r) => r.map(toJson)), truncated: rows.length > job.cap };
  } catch (err) {
    const e = err as { message?: string };
    return { ok: false, message: String(e.message ?? err).replace(/^SQLITE_\w+: /, "") };
  }
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const fail = (message: string) => process.stdout.write(JSON.stringify({ ok: false, message }));
// The libSQL binding finalizes a statement only when it is garbage
// collected, and until then SQLite counts it as running: the connection
// would keep the snapshot it first read, showing later queries old rows and
// keeping checkpoints from emptying the WAL. So garbage is collected once
// the checks are prepared and after every query (a few milliseconds),
// before the answer is sent: whoever has the answer finds no read open.
const endReads = () => (globalThis as { gc?: () => void }).gc?.();
const first = await lines.next();
if (!first.done) {
  let target: Target | undefined;
  try {
    const database = JSON.parse(first.value) as { url: string; authToken?: string };
    const path = filePath(database.url);
    target = path ? fileTarget(path) : await serverTarget(database.url, database.authToken);
    prepareChecks(target.checker);
    endReads();
    process.stdout.write("ready\n");
  } catch (err) {
    fail(`Could not open the database: ${(err as Error).message}`);
  }
  if (target)
    for (let job = await lines.next(); !job.done; job = await lines.next()) {
      const answer = JSON.stringify(await run(target, JSON.parse(job.value) as Job));
      endReads();
      process.stdout.write(`${answer}\n`);
    }
  target?.close();
}
process.exit(0);
