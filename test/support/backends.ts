import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { inject, onTestFinished } from "vitest";
import { openDatabase, type Database } from "../../runner/platform/libsql-client.ts";
import { migrate } from "../../shared/migrations.ts";
import { sqlite3, sqlite3Rows } from "./database.ts";
import { startSqld, type SqldServer } from "./sqld.ts";

/**
 * The two kinds of database the service runs on. vitest.config.ts runs the
 * HTTP-level and end-to-end test files twice: once on the embedded file
 * (the default) and once with TEST_BACKEND=sqld, on a real libSQL server
 * started on a loopback port. Those files open their database with
 * openStore() and read it back with store.rows()/store.text(), so one test
 * serves both passes.
 */
export type BackendName = "embedded file" | "libSQL server";

export const backendName: BackendName = process.env.TEST_BACKEND === "sqld" ? "libSQL server" : "embedded file";
/** True in the libSQL-server pass: for the few checks that only make sense on a file (sqlite3 holding a lock, ...). */
export const onServer = backendName === "libSQL server";

export interface TestStore extends Database {
  /** DATABASE_URL (and DATABASE_AUTH_TOKEN) for a runner process. */
  env: Record<string, string>;
  url: string;
  /** The file in the embedded pass; undefined on a server. */
  path: string | undefined;
  server: SqldServer | undefined;
  /** Rows as someone outside the service reads them: `sqlite3 -json` on a file, the server's HTTP API on a server. */
  rows<T = Record<string, unknown>>(sql: string): T[];
  /** Text as `sqlite3 db "SQL"` prints it (list mode: columns joined by |, NULL empty). */
  text(sql: string): string;
  /** Runs SQL, one statement or several, from outside the service (sqlite3 on a file, the HTTP API on a server). */
  run(sql: string): void;
  /** Closes the connection and stops the server; automatic when opened inside a test. */
  close(): void;
  stop(): Promise<void>;
}

/**
 * A fresh, empty, migrated database of this pass's kind, with the service's
 * own connection to it. Inside a test it is cleaned up when the test ends;
 * opened in beforeAll, return `() => store.stop()` from the hook.
 */
export async function openStore(): Promise<TestStore> {
  const store = onServer ? await openServerStore() : await openFileStore();
  try {
    onTestFinished(() => store.stop());
  } catch {
    // opened outside a test (beforeAll): the caller stops it
  }
  return store;
}

async function openMigrated(url: string, authToken?: string): Promise<Database> {
  const database = await openDatabase({ url, authToken });
  await migrate(database.client);
  return database;
}

async function openFileStore(): Promise<TestStore> {
  // Removed by stop(), so a store opened in beforeAll lives as long as its block.
  const dir = mkdtempSync(join(tmpdir(), "rs-store-"));
  const path = join(dir, "resource_tracking.db");
  const url = `file:${path}`;
  const database = await openMigrated(url);
  return Object.assign(database, {
    env: { DATABASE_URL: url },
    url,
    path,
    server: undefined,
    rows: <T>(sql: string) => sqlite3Rows<T>(path, sql),
    text: (sql: string) => sqlite3(path, sql),
    run: (sql: string) => void sqlite3(path, sql),
    stop: async () => {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

async function openServerStore(): Promise<TestStore> {
  // From the migrated template sqld-template.ts made for this run.
  const server = await startSqld({ from: inject("sqldTemplate") });
  const database = await openMigrated(server.url);
  const close = database.close;
  return Object.assign(database, {
    env: { DATABASE_URL: server.url },
    url: server.url,
    path: undefined,
    server,
    rows: <T>(sql: string) => serverRows(server.url, sql) as T[],
    text: (sql: string) => serverText(server.url, sql),
    run: (sql: string) => void serverQuery(server.url, sql, "script"),
    stop: async () => {
      close();
      await server.stop();
    },
  });
}

// Reading stays synchronous, like the sqlite3 CLI it stands in for: a worker
// thread makes the HTTP request to sqld's API (Hrana v2 pipeline) while this
// thread waits on a shared flag for at most the request's time. A child
// process per query would block the test's event loop for a second or more.
const WORKER = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", async ({ flag, port, url, request }) => {
  let answer;
  try {
    const res = await fetch(url + "/v2/pipeline", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ requests: [request, { type: "close" }] }), signal: AbortSignal.timeout(20000) });
    answer = { ok: res.ok, body: await res.text() };
  } catch (err) {
    answer = { ok: false, body: String(err) };
  }
  port.postMessage(answer);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;
let worker: Worker | undefined;

function pipelineSync(url: string, request: unknown): { ok: boolean; body: string } {
  worker ??= new Worker(WORKER, { eval: true });
  worker.unref();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ flag, port: port2, url, request }, [port2]);
  Atomics.wait(flag, 0, 0, 30_000);
  const reply = receiveMessageOnPort(port1)?.message as { ok: boolean; body: string } | undefined;
  port1.close();
  return reply ?? { ok: false, body: "no answer from the libSQL server within 30 s" };
}

type HranaValue = { type: "null" } | { type: "integer"; value: string } | { type: "float"; value: number } | { type: "text"; value: string } | { type: "blob"; base64: string };

/** One statement ("query"), or several separated by semicolons ("script", like sqlite3 takes them; no result). */
function serverQuery(url: string, sql: string, kind: "query" | "script" = "query"): { cols: string[]; rows: HranaValue[][] } {
  const request = kind === "script" ? { type: "sequence", sql } : { type: "execute", stmt: { sql } };
  const reply = pipelineSync(url, request);
  const first = reply.ok ? (JSON.parse(reply.body) as { results?: { type: string; error?: unknown; response?: { result?: { cols: { name: string }[]; rows: HranaValue[][] } } }[] }).results?.[0] : undefined;
  if (first?.type !== "ok") throw new Error(`The libSQL server refused ${JSON.stringify(sql)}: ${first ? JSON.stringify(first.error) : reply.body}`);
  const result = first.response?.result ?? { cols: [], rows: [] };
  return { cols: result.cols.map((c) => c.name), rows: result.rows };
}

function plain(v: HranaValue): unknown {
  switch (v.type) {
    case "null":
      return null;
    case "integer":
      return Number(v.value);
    case "float":
      return v.value;
    case "text":
      return v.value;
    case "blob":
      return Buffer.from(v.base64, "base64");
  }
}

function serverRows(url: string, sql: string): Record<string, unknown>[] {
  const { cols, rows } = serverQuery(url, sql);
  return rows.map((row) => Object.fromEntries(cols.map((c, i) => [c, plain(row[i]!)])));
}

/** sqlite3's list mode: columns joined by |, NULL empty, a REAL with a decimal point and at most 15 significant digits. */
function serverText(url: string, sql: string): string {
  const { rows } = serverQuery(url, sql);
  const cell = (v: HranaValue) => {
    if (v.type === "null") return "";
    if (v.type === "float") return Number.isInteger(v.value) ? v.value.toFixed(1) : String(Number(v.value.toPrecision(15)));
    if (v.type === "blob") return Buffer.from(v.base64, "base64").toString("latin1");
    return String(v.value);
  };
  return rows.map((r) => r.map(cell).join("|")).join("\n") + (rows.length > 0 ? "\n" : "");
}
