import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
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
/**
 * How long after its start a process that has answered a query takes
 * further ones. On a libSQL server it checks queries against a copy of the
 * schema made at its start, so a table added since (a migration) is seen
 * once it is replaced. One waiting for its first query is kept however
 * long the person takes to type it.
 */
const REUSE_FOR_MS = 60_000;

/**
 * How to start a query process. Run from source (`tsx runner ...`), the child
 * is query-child.ts beside this file, loaded by tsx; in a bundle of the runner
 * (the tests build one: test/support/built-runner.ts) it is the bundled
 * query-child.js beside this code. The child keeps our working directory, so a
 * relative DATABASE_URL names the same file for both, which is why tsx is
 * named by its resolved location rather than found from a directory.
 */
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const QUERY_CHILD = FROM_SOURCE
  ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href, fileURLToPath(new URL("./query-child.ts", import.meta.url))]
  : [fileURLToPath(new URL("./query-child.js", import.meta.url))];

/** A query process: its answers arrive one line per job, in order. */
interface Worker {
  child: ChildProcessWithoutNullStreams;
  startedAt: number;
  /** Queries it has been given. */
  jobs: number;
  /** True once its connection is open; false if it ended before (then `pending()` holds what it said). */
  ready: Promise<boolean>;
  /** The next answer line, or undefined if the process ended without one. */
  answer(): Promise<string | undefined>;
  /** What it printed and has not been taken as an answer, and its stderr. */
  pending(): string;
  errors(): string;
  closed: Promise<number | null>;
}

function startWorker(database: { url: string; authToken: string | undefined }, childArgs: string[]): Worker {
  // --expose-gc: query-child.ts collects garbage to end its reads (it says why).
  const child = spawn(process.execPath, ["--expose-gc", ...childArgs], { stdio: ["pipe", "pipe", "pipe"] });
  // The connection opens before the query arrives, so the time limit is the query's own.
  child.stdin.write(`${JSON.stringify(database)}\n`);
  let out = "";
  let err = "";
  let ended = false;
  const waiting: (() => void)[] = [];
  const wake = () => waiting.splice(0).forEach((w) => w());
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    wake();
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const closed = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      ended = true;
      wake();
      resolve(code);
    }),
  );
  child.on("error", () => undefined);
  // The next whole line of stdout, or undefined once the process has ended without one.
  const nextLine = async (): Promise<string | undefined> => {
    for (;;) {
      const end = out.indexOf("\n");
      if (end >= 0) {
        const line = out.slice(0, end);
        out = out.slice(end + 1);
        return line;
      }
      if (ended) return undefined;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  const ready = nextLine().then((line) => line === "ready");
  return { child, startedAt: Date.now(), jobs: 0, ready, answer: nextLine, closed, pending: () => out, errors: () => err };
}

/**
 * Console queries, run in processes of their own on a query-only
 * connection, killed when a query runs past the time limit (a query in
 * SQLite is one native call that nothing in this process could interrupt).
 * Once the console is opened (`warm`) or used, one process is kept loaded
 * ahead of need so a query does not wait for Node to start, and a process
 * that answered in time takes the next query; a viewer nobody queries
 * starts none. At most a couple run at once so pressing Run repeatedly
 * cannot starve the machine.
 */
export function createQueryRunner(
  database: { url: string; authToken: string | undefined },
  {
    timeLimitMs = QUERY_TIME_LIMIT_MS,
    rowCap = QUERY_ROW_CAP,
    reuseForMs = REUSE_FOR_MS,
    childArgs = QUERY_CHILD,
  }: {
    timeLimitMs?: number;
    rowCap?: number;
    reuseForMs?: number;
    /** Node's arguments that start a query process: by default query-child beside this code (QUERY_CHILD says which). */
    childArgs?: string[];
  } = {},
): { run: QueryRunner; warm(): void; close(): void } {
  let running = 0;
  let spare: Worker | undefined;
  let closed = false;
  const fresh = (w: Worker | undefined) => w !== undefined && w.child.exitCode === null && (w.jobs === 0 || Date.now() - w.startedAt < reuseForMs);
  const take = (): Worker => {
    const w = fresh(spare) ? spare! : startWorker(database, childArgs);
    if (w !== spare) spare?.child.stdin.end();
    spare = undefined;
    return w;
  };
  // A process that answered waits for the next query; only one waits, the others end.
  const giveBack = (w: Worker) => {
    if (!closed && !fresh(spare) && fresh(w)) {
      spare?.child.stdin.end();
      spare = w;
    } else w.child.stdin.end();
  };
  const warm = () => {
    if (!closed && !fresh(spare)) {
      spare?.child.stdin.end();
      spare = startWorker(database, childArgs);
    }
  };
  const run: QueryRunner = async (input) => {
    const check = checkReadOnlySql(input);
    if (!check.ok) return { ok: false, message: check.message, refused: true };
    if (running >= MAX_RUNNING) return { ok: false, message: `${MAX_RUNNING} queries are running already; wait for them and try again.` };
    running += 1;
    const w = take();
    try {
      const { result, reusable } = await runOn(w, { sql: check.sql, cap: rowCap }, timeLimitMs);
      if (reusable) giveBack(w);
      else w.child.kill("SIGKILL");
      return result;
    } finally {
      running -= 1;
      // The next query should not wait for Node to start either.
      warm();
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

async function runOn(w: Worker, job: object, timeLimitMs: number): Promise<{ result: QueryResult; reusable: boolean }> {
  const startTimer = setTimeout(() => w.child.kill("SIGKILL"), START_LIMIT_MS);
  const ready = await w.ready;
  clearTimeout(startTimer);
  if (!ready) {
    const said = w.pending() || w.errors();
    try {
      return { result: JSON.parse(said) as QueryResult, reusable: false };
    } catch {
      const message = `The query process did not start: ${said.trim().split("\n")[0] || "no output"}. Try again; see the viewer's log if it persists.`;
      return { result: { ok: false, message }, reusable: false };
    }
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    w.child.kill("SIGKILL");
  }, timeLimitMs);
  w.jobs += 1;
  w.child.stdin.write(`${JSON.stringify(job)}\n`);
  const line = await w.answer();
  clearTimeout(timer);
  if (timedOut) {
    const message = `The query ran longer than ${timeLimitMs / 1000} s and was stopped. Narrow it (a WHERE on timestamp_ms or date, fewer joins) and run it again.`;
    return { result: { ok: false, message }, reusable: false };
  }
  if (line === undefined) {
    const code = await w.closed;
    return { result: { ok: false, message: `The query process failed (exit ${code}): ${w.errors().trim().split("\n")[0] || "no output"}` }, reusable: false };
  }
  try {
    return { result: JSON.parse(line) as QueryResult, reusable: true };
  } catch {
    return { result: { ok: false, message: `The query process answered something that is not JSON: ${line.slice(0, 200)}` }, reusable: false };
  }
}
