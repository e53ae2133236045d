/**
 * Runs one console query in its own process, so the viewer can enforce a
 * time limit: a SQLite query runs inside one synchronous native call that
 * no timer in the same process can interrupt, but a process can be killed.
 * Started ahead of need: it loads, prints "ready", then reads one job
 * {url, authToken, sql, cap} as JSON on stdin and writes the result as JSON
 * on stdout.
 */
import { openDatabase } from "../../shared/db.ts";

interface Job {
  url: string;
  authToken?: string;
  sql: string;
  cap: number;
}

const toJson = (value: unknown): unknown => {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof ArrayBuffer) return `BLOB (${value.byteLength} bytes)`;
  return value;
};

async function run(job: Job): Promise<unknown> {
  const database = await openDatabase({ url: job.url, authToken: job.authToken, queryOnly: true, busyTimeoutMs: 1000 });
  try {
    // The checked statement becomes a subquery: only a query parses there,
    // and the LIMIT stops SQLite early instead of truncating afterwards.
    const rs = await database.client.execute(`SELECT * FROM (${job.sql}\n) LIMIT ${job.cap + 1}`);
    const rows = rs.rows.slice(0, job.cap).map((r) => rs.columns.map((_, i) => toJson(r[i])));
    return { ok: true, columns: rs.columns, rows, truncated: rs.rows.length > job.cap };
  } catch (err) {
    const e = err as { message?: string };
    return { ok: false, message: String(e.message ?? err).replace(/^SQLITE_\w+: /, "") };
  } finally {
    database.close();
  }
}

let input = "";
process.stdout.write("ready\n");
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d: string) => (input += d));
process.stdin.on("end", () => {
  if (!input) return; // the viewer stopped before using this process
  run(JSON.parse(input) as Job).then(
    (result) => process.stdout.write(JSON.stringify(result)),
    (err: unknown) => process.stdout.write(JSON.stringify({ ok: false, message: (err as Error).message ?? String(err) })),
  );
});
