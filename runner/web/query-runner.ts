import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { checkReadOnlySql } from "./sql-check.ts";

export type QueryResult =
  | { ok: true; columns: string[]; rows: unknown[][]; truncated: boolean }
  | { ok: false; message: string; refused?: boolean };

export type QueryRunner = (sql: string) => Promise<QueryResult>;

export const QUERY_TIME_LIMIT_MS = 5000;
export const QUERY_ROW_CAP = 10_000;
const MAX_RUNNING = 2;

const CHILD = fileURLToPath(new URL("./query-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Console queries, each in a short-lived process of its own on a query-only
 * connection, killed when it runs past the time limit; at most a couple at
 * once so a person cannot starve the machine by pressing Run repeatedly.
 */
export function createQueryRunner(
  database: { url: string; authToken: string | undefined },
  { timeLimitMs = QUERY_TIME_LIMIT_MS, rowCap = QUERY_ROW_CAP } = {},
): QueryRunner {
  let running = 0;
  return async (input) => {
    const check = checkReadOnlySql(input);
    if (!check.ok) return { ok: false, message: check.message, refused: true };
    if (running >= MAX_RUNNING) return { ok: false, message: `${MAX_RUNNING} queries are running already; wait for them and try again.` };
    running += 1;
    try {
      return await runChild({ ...database, sql: check.sql, cap: rowCap }, timeLimitMs);
    } finally {
      running -= 1;
    }
  };
}

function runChild(job: object, timeLimitMs: number): Promise<QueryResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeLimitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut)
        return resolve({ ok: false, message: `The query ran longer than ${timeLimitMs / 1000} s and was stopped. Narrow it (a WHERE on timestamp_ms or date, fewer joins) and run it again.` });
      try {
        resolve(JSON.parse(out) as QueryResult);
      } catch {
        resolve({ ok: false, message: `The query process failed (exit ${code}): ${err.trim().split("\n")[0] ?? "no output"}` });
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}
