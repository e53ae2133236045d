import { execFileSync } from "node:child_process";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../../../runner/platform/libsql-client.ts";
import { createQueryRunner } from "../../../../runner/viewer/console/query-runner.ts";
import { onServer, openStore, type TestStore } from "../../../support/backends.ts";
import { BUILT_QUERY_CHILD } from "../../../support/built-runner.ts";

/** A runner whose query processes are the test run's build of query-child (built-runner.ts): same code, no tsx start. */
const queryRunner = (db: { url: string }, options: Parameters<typeof createQueryRunner>[1] = {}) =>
  createQueryRunner({ url: db.url, authToken: undefined }, { childArgs: [BUILT_QUERY_CHILD], ...options });

/**
 * Real query processes on a real database (this pass's kind), as the viewer
 * runs them. One database and one runner serve the file: no test changes the
 * rows (every write is refused, and the tests check it); a test that needs
 * other limits gets a runner of its own.
 */
describe("console queries", () => {
  let db: TestStore;
  let shared: ReturnType<typeof createQueryRunner>;
  beforeAll(async () => {
    db = await openStore();
    await db.client.execute("INSERT INTO claude_identities (name) VALUES ('A'), ('B'), ('C')");
    shared = queryRunner(db);
    return async () => {
      shared.close();
      await db.stop();
    };
  });
  let close: (() => void) | undefined;
  afterEach(() => {
    close?.();
    close = undefined;
  });
  const runnerFor = async (options?: { timeLimitMs?: number; rowCap?: number }) => {
    if (options === undefined) return { run: shared.run, db };
    const queries = queryRunner(db, options);
    close = queries.close;
    return { run: queries.run, db };
  };

  it("returns rows and stops at the row cap", async () => {
    const { run } = await runnerFor({ rowCap: 2 });
    const result = await run("SELECT name FROM claude_identities ORDER BY name");
    expect(result).toEqual({ ok: true, columns: ["name"], rows: [["A"], ["B"]], truncated: true });
  });

  it("refuses a write hidden behind WITH", async () => {
    const { run, db } = await runnerFor();
    const hidden = await run("WITH x AS (SELECT 1) DELETE FROM claude_identities");
    expect(hidden.ok).toBe(false);
    expect(db.rows("SELECT count(*) AS n FROM claude_identities")).toEqual([{ n: 3 }]);
  });

  it("refuses every kind of write with a message, and the database keeps its rows and settings", async () => {
    const { run, db } = await runnerFor();
    const writes = [
      "DELETE FROM claude_identities",
      "UPDATE claude_identities SET active = 0",
      "INSERT INTO claude_identities (name) VALUES ('D')",
      `ATTACH DATABASE '${db.path ?? "elsewhere.db"}.other' AS other`,
      "PRAGMA user_version = 99",
      "PRAGMA query_only = 0",
    ];
    for (const sql of writes) {
      const result = await run(sql);
      expect(result, sql).toMatchObject({ ok: false, refused: true, message: expect.stringMatching(/refused/) });
    }
    // The connection's own guard stops plain writes, but not ATTACH, nor
    // "PRAGMA query_only = 0" (which switches it off): those only the check stops.
    // (On a libSQL server the guard is runner/platform/read-only-db.ts, and the server refuses ATTACH.)
    const readOnly = await openDatabase({ url: db.url, queryOnly: true });
    for (const sql of writes.filter((w) => !w.startsWith("ATTACH") && !w.startsWith("PRAGMA query_only")))
      await expect(readOnly.db.execute(sql), sql).rejects.toThrow(/readonly|read-only|query_only/i);
    readOnly.close();
    expect(db.rows("SELECT name, active FROM claude_identities ORDER BY name")).toEqual([
      { name: "A", active: 1 }, { name: "B", active: 1 }, { name: "C", active: 1 },
    ]);
    expect(db.rows("PRAGMA user_version")).toEqual([{ user_version: 0 }]);
  });

  it("stops a query that runs past the time limit and keeps answering", async () => {
    const { run } = await runnerFor({ timeLimitMs: 1000 });
    const endless = await run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c");
    expect(endless).toMatchObject({ ok: false, message: expect.stringMatching(/ran longer than 1 s and was stopped/) });
    const after = await run("SELECT 42 AS answer");
    expect(after, JSON.stringify(after)).toMatchObject({ ok: true, rows: [[42]] });
  });

  // This test's own children that are query processes, by the process table: their pids.
  const queryProcesses = () =>
    execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n").filter((l) => l.includes("query-child")).map((l) => Number.parseInt(l, 10));

  it("starts no query process until the console is opened, then keeps one loaded", async () => {
    const before = queryProcesses().length;
    const queries = queryRunner(db);
    close = queries.close;
    await new Promise((r) => setTimeout(r, 300));
    expect(queryProcesses()).toHaveLength(before);
    queries.warm();
    queries.warm();
    expect(queryProcesses()).toHaveLength(before + 1);
    expect(await queries.run("SELECT 1 AS one")).toMatchObject({ ok: true, rows: [[1]] });
    await expect.poll(() => queryProcesses().length).toBe(before + 1);
  });

  it("runs the next query in the process that answered the last one in time, and replaces one it stopped", async () => {
    const queries = queryRunner(db, { timeLimitMs: 1000 });
    close = queries.close;
    const others = new Set(queryProcesses());
    const ours = () => queryProcesses().filter((pid) => !others.has(pid));
    expect(await queries.run("SELECT count(*) FROM claude_identities")).toMatchObject({ ok: true, rows: [[3]] });
    const [first] = ours();
    expect(await queries.run("SELECT nope FROM claude_identities")).toMatchObject({ ok: false });
    expect(await queries.run("SELECT 2 AS two")).toMatchObject({ ok: true, rows: [[2]] });
    expect(ours()).toEqual([first]);
    const endless = await queries.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c");
    expect(endless).toMatchObject({ ok: false, message: expect.stringMatching(/was stopped/) });
    await expect.poll(ours).toHaveLength(1);
    expect(ours()).not.toEqual([first]);
    expect(await queries.run("SELECT 3 AS three")).toMatchObject({ ok: true, rows: [[3]] });
  });

  it("keeps a loaded process for the first query however long it waits, and replaces one that answered once its time is up", async () => {
    const queries = queryRunner(db, { reuseForMs: 400, timeLimitMs: 30_000 });
    close = queries.close;
    const others = new Set(queryProcesses());
    const ours = () => queryProcesses().filter((pid) => !others.has(pid));
    queries.warm();
    const [warmed] = ours();
    await new Promise((r) => setTimeout(r, 600));
    // A query long enough to look at the processes while it runs: the one loaded 600 ms ago runs it, alone.
    const running = queries.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c");
    await new Promise((r) => setTimeout(r, 200));
    expect(ours()).toEqual([warmed]);
    expect(await running).toMatchObject({ ok: true, rows: [[3000000]] });
    // It has answered and is past its time: a fresh process waits for the next query.
    await expect.poll(ours).toHaveLength(1);
    expect(ours()).not.toEqual([warmed]);
    expect(await queries.run("SELECT 2 AS two")).toMatchObject({ ok: true, rows: [[2]] });
  });

  it("shows rows stored after its process was loaded, and keeps no read open between queries", async () => {
    const own = await openStore();
    own.run("INSERT INTO claude_identities (name) VALUES ('A')");
    const queries = queryRunner(own);
    close = queries.close;
    const count = "SELECT count(*) AS n FROM claude_identities";
    expect(await queries.run(count)).toMatchObject({ ok: true, rows: [[1]] });
    // The process that answered takes the next query; a row stored meanwhile must be in its answer.
    await own.client.execute("INSERT INTO claude_identities (name) VALUES ('B')");
    expect(await queries.run(count)).toMatchObject({ ok: true, rows: [[2]] });
    // On a file: once an answer has arrived, a checkpoint can empty the WAL
    // (busy flag 0), asked at once by a connection that waits for no reader.
    if (!onServer) {
      const checkpointer = await openDatabase({ url: own.url, busyTimeoutMs: 0 });
      try {
        for (const name of ["C", "D", "E", "F", "G"]) {
          await own.client.execute({ sql: "INSERT INTO claude_identities (name) VALUES (?)", args: [name] });
          expect(await queries.run(count)).toMatchObject({ ok: true });
          const [checkpoint] = (await checkpointer.client.execute("PRAGMA wal_checkpoint(TRUNCATE)")).rows;
          expect(Number(checkpoint![0]), `checkpoint after the query that saw ${name}`).toBe(0);
        }
      } finally {
        checkpointer.close();
      }
    }
  });

  it("reports SQL errors in SQLite's words", async () => {
    const { run } = await runnerFor();
    expect(await run("SELECT nope FROM claude_identities")).toMatchObject({ ok: false, message: expect.stringMatching(/no such column: nope/) });
  });
});
