import { describe, expect, it, onTestFinished } from "vitest";
import { openDatabase } from "../../../runner/platform/libsql-client.ts";
import { sqlite3Rows, tempDatabasePath } from "../../support/database.ts";

/**
 * A process's writer connection to a file is shared by everything in it:
 * the webhook's commits, the daily catch-up, the alerts round, setAgent.
 * While one of them holds a transaction the others wait their turn.
 */
describe("a file database's shared connection", () => {
  async function opened(busyTimeoutMs = 5000) {
    const path = tempDatabasePath();
    const database = await openDatabase({ url: `file:${path}`, busyTimeoutMs });
    onTestFinished(() => database.close());
    await database.db.execute("CREATE TABLE t (n INTEGER)");
    return { path, db: database.db };
  }

  it("lets a call made while a transaction is open wait for it, instead of failing", async () => {
    const { path, db } = await opened();
    const tx = await db.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    const meanwhile = db.execute("INSERT INTO t VALUES (2)");
    const batch = db.batch(["INSERT INTO t VALUES (3)"], "write");
    const second = db.transaction("write").then(async (t2) => {
      try {
        await t2.execute("INSERT INTO t VALUES (4)");
        await t2.commit();
      } finally {
        t2.close();
      }
    });
    // The first transaction goes on between the others' calls, and decides alone.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await tx.execute("INSERT INTO t VALUES (5)");
    await tx.commit();
    tx.close();
    await Promise.all([meanwhile, batch, second]);
    expect(sqlite3Rows<{ n: number }>(path, "SELECT n FROM t ORDER BY rowid").map((r) => r.n)).toEqual([1, 5, 2, 3, 4]);
  });

  it("frees the connection when a transaction is rolled back or closed without committing", async () => {
    const { path, db } = await opened();
    const rolledBack = await db.transaction("write");
    await rolledBack.execute("INSERT INTO t VALUES (1)");
    await rolledBack.rollback();
    rolledBack.close();
    const abandoned = await db.transaction("write");
    await abandoned.execute("INSERT INTO t VALUES (2)");
    abandoned.close();
    abandoned.close();
    await db.execute("INSERT INTO t VALUES (3)");
    expect(sqlite3Rows<{ n: number }>(path, "SELECT n FROM t").map((r) => r.n)).toEqual([3]);
  });

  it("gives up after the busy timeout with an error the webhook treats as the database being busy", async () => {
    const { db } = await opened(200);
    const tx = await db.transaction("write");
    onTestFinished(() => tx.close());
    const waited = await db.execute("SELECT 1").then(
      () => undefined,
      (err: { code?: string; message?: string }) => err,
    );
    expect(waited?.code).toBe("SQLITE_BUSY");
    expect(waited?.message).toMatch(/held by a transaction in this process for over 200 ms/);
  });
});

describe("a file database's page cache", () => {
  it("is the size asked for (the viewer's 16 MB), also after the connection is opened again", async () => {
    const path = tempDatabasePath();
    const writer = await openDatabase({ url: `file:${path}` });
    await writer.db.execute("CREATE TABLE t (n INTEGER)");
    writer.close();
    const { VIEWER_CACHE_KIB } = await import("../../../runner/viewer/start.ts");
    const database = await openDatabase({ url: `file:${path}`, queryOnly: true, cacheKib: VIEWER_CACHE_KIB });
    onTestFinished(() => database.close());
    const cacheSize = async () => Number((await database.db.execute("PRAGMA cache_size")).rows[0]![0]);
    expect(await cacheSize()).toBe(-16 * 1024);
    await database.recover();
    expect(await cacheSize()).toBe(-16 * 1024);
    // Without the setting, SQLite's own default.
    const plain = await openDatabase({ url: `file:${path}`, queryOnly: true });
    onTestFinished(() => plain.close());
    expect(Number((await plain.db.execute("PRAGMA cache_size")).rows[0]![0])).toBe(-2000);
  });
});
