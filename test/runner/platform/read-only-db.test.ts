import { describe, expect, it, onTestFinished } from "vitest";
import { openDatabase } from "../../../runner/platform/libsql-client.ts";
import { checkReadStatement, ReadOnlyError } from "../../../runner/platform/read-only-db.ts";
import { migrate } from "../../../shared/migrations.ts";
import { startSqld } from "../../support/sqld.ts";

const COUNT = "SELECT count(*) AS n, coalesce(sum(cache_read_increment), 0) AS tokens FROM resource_share_increments";

/** A server with two reports on it, and a query-only connection to it. */
async function readOnlyOnServer() {
  const server = await startSqld();
  const owner = await openDatabase({ url: server.url });
  onTestFinished(() => owner.close());
  await migrate(owner.client);
  await owner.client.execute(
    `INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment)
     VALUES ('Sparkle-Orange', '2026-11-28T10:00:00Z', 'autonomy', 100), ('Quiet-Blue', '2026-11-28T10:05:00Z', 'collaboration', 20)`,
  );
  const viewer = await openDatabase({ url: server.url, queryOnly: true });
  // Counted through the owner's connection, not the one under test.
  return { viewer, counts: async () => ({ ...(await owner.client.execute(COUNT)).rows[0] }) };
}

describe("read-only access to a libSQL server", () => {
  it("reads: SELECT, WITH, pragma tables, read batches and read transactions", async () => {
    const { viewer } = await readOnlyOnServer();
    try {
      expect((await viewer.db.execute(COUNT)).rows[0]).toMatchObject({ n: 2, tokens: 120 });
      expect((await viewer.db.execute({ sql: "SELECT claude_name FROM resource_share_increments WHERE cache_read_increment > ?", args: [50] })).rows.map((r) => r.claude_name)).toEqual(["Sparkle-Orange"]);
      expect((await viewer.db.execute("  -- the console allows comments\n WITH t AS (SELECT 1 AS x) SELECT x FROM t")).rows[0]?.x).toBe(1);
      expect((await viewer.db.execute("SELECT * FROM pragma_table_xinfo('resource_share_increments')")).rows.length).toBeGreaterThan(5);
      const [a, b] = await viewer.db.batch(["SELECT 1 AS one", "SELECT 2 AS two"], "read");
      expect([a!.rows[0]?.one, b!.rows[0]?.two]).toEqual([1, 2]);
      const tx = await viewer.db.transaction("read");
      expect((await tx.execute(COUNT)).rows[0]?.n).toBe(2);
      await tx.commit();
      tx.close();
    } finally {
      viewer.close();
    }
  });

  it("refuses every kind of write with a read-only error, and the data stays as it was", async () => {
    const { viewer, counts } = await readOnlyOnServer();
    const before = await counts();
    const writes = [
      "INSERT INTO resource_share_increments (claude_name, timestamp, mode) VALUES ('x', '2026-11-28T10:00:00Z', 'autonomy')",
      "update resource_share_increments SET cache_read_increment = 0",
      "/* hidden */ DELETE FROM resource_share_increments",
      "DROP TABLE resource_share_increments",
      "CREATE TABLE evil (x)",
      "PRAGMA user_version = 7",
      "PRAGMA journal_mode(DELETE)",
      "BEGIN",
      "COMMIT",
    ];
    try {
      for (const sql of writes) {
        const err = await viewer.db.execute(sql).then(() => undefined, (e: unknown) => e);
        expect(err, sql).toBeInstanceOf(ReadOnlyError);
        expect((err as ReadOnlyError).code).toBe("SQLITE_READONLY");
      }
      await expect(viewer.db.batch(["SELECT 1", "DELETE FROM resource_share_increments"], "write")).rejects.toThrow(/read-only/);
      await expect(viewer.db.transaction("write")).rejects.toThrow(/read-only/);
      expect(await counts()).toEqual(before);
    } finally {
      viewer.close();
    }
  });

  it("rolls back a statement that reads and writes at once (WITH ... DELETE ... RETURNING)", async () => {
    const { viewer, counts } = await readOnlyOnServer();
    const before = await counts();
    try {
      const sneaky = "WITH doomed AS (SELECT id FROM resource_share_increments) DELETE FROM resource_share_increments WHERE id IN (SELECT id FROM doomed) RETURNING id";
      const rs = await viewer.db.execute(sneaky);
      expect(rs.rows).toHaveLength(2); // it ran, inside a transaction that was then rolled back
      const tx = await viewer.db.transaction("read");
      await tx.execute(sneaky);
      await tx.commit(); // commit on a read-only connection rolls back
      tx.close();
      expect(await counts()).toEqual(before);
    } finally {
      viewer.close();
    }
  });
});

describe("checkReadStatement", () => {
  it("lets single reading statements through and names what it refused", () => {
    for (const ok of ["SELECT 1", "  with x as (select 1) select * from x", "VALUES (1)", "SELECT * FROM pragma_table_info('t')", "/* a */ -- b\n select 1"])
      expect(() => checkReadStatement(ok), ok).not.toThrow();
    expect(() => checkReadStatement("REPLACE INTO t VALUES (1)")).toThrow("REPLACE statements are refused");
    expect(() => checkReadStatement({ sql: "PRAGMA journal_mode(DELETE)", args: [] })).toThrow("PRAGMA statements can change the database's settings");
    expect(() => checkReadStatement("SELECT 1; DELETE FROM t")).toThrow("one statement at a time");
  });
});
