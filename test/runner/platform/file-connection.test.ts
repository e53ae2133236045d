import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, statSync } from "node:fs";
import { describe, expect, it, onTestFinished } from "vitest";
import type { IncrementRow } from "../../../functions/report.ts";
import { storeIncrements } from "../../../functions/store.ts";
import { openFileConnection } from "../../../runner/platform/file-connection.ts";
import { isUnavailable } from "../../../runner/platform/libsql-client.ts";
import { openTestDatabase, sqlite3Rows } from "../../support/database.ts";

const row = (n: number, over: Partial<IncrementRow> = {}): IncrementRow => ({
  claude_name: `Agent-${n % 3}`,
  timestamp: `2026-03-01T10:00:${String(n % 60).padStart(2, "0")}.000Z`,
  mode: "autonomy",
  cache_read_increment: n,
  context_percentage: null,
  cost_delta: null,
  event_id: null,
  received_at: "2026-03-01T10:01:00.000Z",
  host: null,
  ...over,
});

async function writerOn() {
  const db = await openTestDatabase();
  const writer = openFileConnection(db.path, { busyTimeoutMs: 100, walAutocheckpoint: 4000 });
  onTestFinished(() => writer.close());
  return { path: db.path, writer };
}

describe("a file connection that keeps its statements prepared", () => {
  it("stores what storeIncrements stores through the client, batch after batch of every size", async () => {
    const { path, writer } = await writerOn();
    let n = 0;
    const answered: { id: number; cache_read_increment: number }[] = [];
    // More distinct batch sizes than statements it keeps prepared: old ones are dropped and prepared again.
    for (let round = 0; round < 2; round++)
      for (let size = 1; size <= 80; size++) {
        const rows = Array.from({ length: size }, () => row(n++));
        const stored = await storeIncrements(writer, rows);
        expect(stored.map((s) => s.cache_read_increment)).toEqual(rows.map((r) => r.cache_read_increment));
        answered.push(...stored.map((s) => ({ id: s.id, cache_read_increment: s.cache_read_increment })));
      }
    // Every id answered is the id of that report's row.
    expect(sqlite3Rows(path, "SELECT id, cache_read_increment FROM resource_share_increments ORDER BY id")).toEqual(answered);
    expect(sqlite3Rows(path, "SELECT count(*) AS n, sum(cache_read_increment) AS tokens, count(DISTINCT id) AS ids FROM resource_share_increments")).toEqual([
      { n, tokens: (n * (n - 1)) / 2, ids: n },
    ]);
    expect(sqlite3Rows(path, "SELECT name FROM claude_identities ORDER BY name")).toEqual([{ name: "Agent-0" }, { name: "Agent-1" }, { name: "Agent-2" }]);
  });

  it("keeps the page cache it is given (the webhook's is smaller than SQLite's default)", async () => {
    const db = await openTestDatabase();
    const small = openFileConnection(db.path, { busyTimeoutMs: 100, cacheKib: 512 });
    const plain = openFileConnection(db.path, { busyTimeoutMs: 100 });
    onTestFinished(() => (small.close(), plain.close()));
    expect((await small.execute("PRAGMA cache_size")).rows).toEqual([{ cache_size: -512 }]);
    expect((await plain.execute("PRAGMA cache_size")).rows).toEqual([{ cache_size: -2000 }]);
  });

  it("answers a repeated event id with the first report's id, as the client path does", async () => {
    const { writer } = await writerOn();
    const [first] = await storeIncrements(writer, [row(1, { event_id: "e-1" })]);
    const [again] = await storeIncrements(writer, [row(4, { event_id: "e-1" })]); // the same agent as row(1)
    expect(again).toEqual({ ...first, duplicate: true });
  });

  it("rolls a failed batch back whole, and the next batch commits", async () => {
    const { path, writer } = await writerOn();
    await expect(storeIncrements(writer, [row(1), row(2, { mode: "sideways" as never })])).rejects.toThrow(/CHECK/);
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 0 }]);
    await storeIncrements(writer, [row(3)]);
    expect(sqlite3Rows(path, "SELECT cache_read_increment FROM resource_share_increments")).toEqual([{ cache_read_increment: 3 }]);
  });

  it("fails with SQLITE_BUSY (unavailable, so the webhook spools) while the sqlite3 CLI holds the lock, and writes once it is free", async () => {
    const { path, writer } = await writerOn();
    const holder = spawn("sqlite3", [path], { stdio: ["pipe", "pipe", "inherit"] });
    onTestFinished(() => void holder.kill());
    holder.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n");
    await once(holder.stdout, "data");
    const failure = await storeIncrements(writer, [row(1)]).catch((err: unknown) => err);
    expect((failure as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
    expect(isUnavailable(failure)).toBe(true);
    holder.stdin.end("ROLLBACK;\n");
    await once(holder, "exit");
    await storeIncrements(writer, [row(2)]);
    expect(sqlite3Rows(path, "SELECT cache_read_increment FROM resource_share_increments")).toEqual([{ cache_read_increment: 2 }]);
  });
});

describe("checkpointAll (the webhook's clean stop)", () => {
  it("copies the WAL into the database file and empties it, so the .db file alone holds every row", async () => {
    const { path, writer } = await writerOn();
    await storeIncrements(writer, Array.from({ length: 300 }, (_, i) => row(i)));
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    expect(writer.checkpointAll()).toBe(true);
    expect(statSync(`${path}-wal`).size).toBe(0);
    const alone = `${path}.alone.db`;
    copyFileSync(path, alone);
    expect(sqlite3Rows(alone, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 300 }]);
  });

  it("says so when a reader in another process keeps part of the WAL, and empties it once the reader is gone", async () => {
    const { path, writer } = await writerOn();
    await storeIncrements(writer, [row(1)]);
    // A person's sqlite3 session in the middle of a read: its snapshot needs the WAL as it is.
    const reader = spawn("sqlite3", [path], { stdio: ["pipe", "pipe", "inherit"] });
    onTestFinished(() => void reader.kill());
    reader.stdin.write("BEGIN;\nSELECT count(*) FROM resource_share_increments;\n");
    await once(reader.stdout, "data");
    await storeIncrements(writer, [row(2)]);
    expect(writer.checkpointAll()).toBe(false);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    reader.stdin.end("COMMIT;\n");
    await once(reader, "exit");
    expect(writer.checkpointAll()).toBe(true);
    expect(statSync(`${path}-wal`).size).toBe(0);
  });
});

describe("a query-only file connection (the viewer's exports)", () => {
  it("reads what is stored and refuses every write, changing nothing", async () => {
    const db = await openTestDatabase();
    const writer = openFileConnection(db.path, { busyTimeoutMs: 100 });
    onTestFinished(() => writer.close());
    await storeIncrements(writer, [row(1), row(2)]);
    const reader = openFileConnection(db.path, { busyTimeoutMs: 100, queryOnly: true });
    onTestFinished(() => reader.close());
    const read = await reader.execute({ sql: "SELECT sum(cache_read_increment) AS tokens FROM resource_share_increments WHERE id > ?", args: [0] });
    expect(read.rows).toEqual([{ tokens: 3 }]);
    await expect(reader.execute("DELETE FROM resource_share_increments")).rejects.toThrow(/readonly|read-only/i);
    await expect(storeIncrements(reader, [row(3)])).rejects.toThrow(/readonly|read-only/i);
    expect(sqlite3Rows(db.path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 2 }]);
  });
});
