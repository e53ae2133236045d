import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { checkReadOnlySql } from "../../platform/read-only-sql.ts";

export type QueryResult =
  | { ok: true; columns: string[]; rows: unknown[][]; truncated: boolean }
  | { ok: false; message: string; refused?: boolean };

export type QueryRunner = (sql: string) => Promise<QueryResult>;

export const QUERY_TIME_LIMIT_MS = 5000;
export const QUERY_ROW_CAP = 10_000;
const MAX_RUNNING = 2;
/** Loading the query process can be slow on a busy machine; it is not the query's time. */
const START_LIMIT_MS = 60_000;

const CHILD = fileURLToPath(new URL("./query-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface Worker {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<boolean>;
  /** The result line has arrived, or the process ended without one. */
  answered: Promise<void>;
  output(): string;
  errors(): string;
  closed: Promise<number | null>;
}

function startWorker(database: { url: string; authToken: string | undefined }): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  // The connection opens before the query arrives, so the time limit is the query's own.
  child.stdin.write(`${JSON.stringify(database)}\n`);
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const ready = new Promise<boolean>((resolve) => {
    const check = () => out.startsWith("ready\n") && resolve(true);
    child.stdout.on("data", check);
    void closed.then(() => resolve(false));
  });
  // The clock stops at the answer, not when the process has finished exiting.
  const answered = new Promise<void>((resolve) => {
    const check = () => /^ready\n.*\n/s.test(out) && resolve();
    child.stdout.on("data", check);
    void closed.then(() => resolve());
  });
  child.on("error", () => undefined);
  return { child, ready, answered, closed, output: () => out.replace(/^ready\n/, ""), errors: () => err };
}

/**
 * Console queries, each in a process of its own on a query-only connection,
 * killed when it runs past the time limit (a query in SQLite is one native
 * call that nothing in this process could interrupt). Once the console is
 * opened (`warm`) or used, one process is kept loaded ahead of need so a
 * query does not wait for Node to start; a viewer nobody queries starts
 * none. At most a couple run at once so pressing Run repeatedly cannot
 * starve the machine.
 */
export function createQueryRunner(
  database: { url: string; authToken: string | undefined },
  { timeLimitMs = QUERY_TIME_LIMIT_MS, rowCap = QUERY_ROW_CAP } = {},
): { run: QueryRunner; warm(): void; close(): void } {
  let running = 0;
  let spare: Worker | undefined;
  let closed = false;
  const take = (): Worker => {
    const w = spare ?? startWorker(database);
    spare = closed ? undefined : startWorker(database);
    return w;
  };
  const warm = () => {
    if (!closed && !spare) spare = startWorker(database);
  };
  const run: QueryRunner = async (input) => {
    const check = checkReadOnlySql(input);
    if (!check.ok) return { ok: false, message: check.message, refused: true };
    if (running >= MAX_RUNNING) return { ok: false, message: `${MAX_RUNNING} queries are running already; wait for them and try again.` };
    running += 1;
    try {
      return await runOn(take(), { sql: check.sql, cap: rowCap }, timeLimitMs);
    } finally {
      running -= 1;
    }
  };
  return {
    run,
    warm,
    close() {
      closed = true;
      spare?.child.kill("SIGKILL");
      spare = undefined;
    },
  };
}

async function runOn(w: Worker, job: object, timeLimitMs: number): Promise<QueryResult> {
  const startTimer = setTimeout(() => w.child.kill("SIGKILL"), START_LIMIT_MS);
  const ready = await w.ready;
  clearTimeout(startTimer);
  if (!ready) {
    const said = w.output() || w.errors();
    try {
      return JSON.parse(said) as QueryResult;
    } catch {
      return { ok: false, message: `The query process did not start: ${said.trim().split("\n")[0] || "no output"}. Try again; see the viewer's log if it persists.` };
    }
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    w.child.kill("SIGKILL");
  }, timeLimitMs);
  w.child.stdin.end(`${JSON.stringify(job)}\n`);
  await w.answered;
  clearTimeout(timer);
  const code = await w.closed;
  if (timedOut)
    return { ok: false, message: `The query ran longer than ${timeLimitMs / 1000} s and was stopped. Narrow it (a WHERE on timestamp_ms or date, fewer joins) and run it again.` };
  try {
    return JSON.parse(w.output()) as QueryResult;
  } catch {
    return { ok: false, message: `The query process failed (exit ${code}): ${w.errors().trim().split("\n")[0] || "no output"}` };
  }
}
