import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openReadOnlyFile } from "../../../../runner/platform/file-connection.ts";
import { checkProgram } from "../../../../runner/viewer/console/program-check.ts";
import { openTestDatabase, sharedTempDir } from "../../../support/database.ts";

/**
 * The console's program check on a real database, read-only as the console
 * opens it: every spelling and place of a call that reaches outside the
 * database is refused by name, and the reads people run in the sqlite3
 * shell still pass and run.
 */
describe("the SQL console's program check", () => {
  async function connection() {
    const seeded = await openTestDatabase();
    await seeded.client.execute(
      "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('A', '2026-11-01T10:00:00.000Z', 'autonomy', 5)",
    );
    seeded.close();
    return openReadOnlyFile(seeded.path, 1000);
  }

  const folder = sharedTempDir("rs-console-");
  afterAll(() => folder.remove());
  const target = join(folder.dir, "planted");
  const calls = [
    `SELECT writefile('${target}', 'x')`,
    `SELECT WRITEFILE('${target}', 'x')`,
    `SELECT WriteFile('${target}', 'x')`,
    `SELECT "writefile"('${target}', 'x')`,
    `SELECT [writefile]('${target}', 'x')`,
    `SELECT \`writefile\`('${target}', 'x')`,
    `SELECT writefile /* a comment */ ('${target}', 'x')`,
    `SELECT writefile -- a comment\n('${target}', 'x')`,
    `SELECT (SELECT writefile('${target}', 'x')) AS inner_call`,
    `WITH w AS (SELECT writefile('${target}', 'x') AS n) SELECT n FROM w`,
    `SELECT CASE WHEN 1 THEN writefile('${target}', 'x') END`,
    `SELECT id FROM resource_share_increments ORDER BY writefile('${target}', 'x')`,
    "SELECT CAST(readfile('/etc/hostname') AS TEXT)",
    "SELECT CAST(\"ReadFile\"('/etc/hostname') AS TEXT)",
    "SELECT load_extension('/tmp/nothing')",
  ];

  it.each(calls)("refuses %j by the function's name", async (sql) => {
    const db = await connection();
    const verdict = checkProgram(db, sql);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.message).toMatch(/The function (writefile|readfile|load_extension)\(\) is not allowed in the SQL console/);
    db.close();
    expect(existsSync(target)).toBe(false);
  });

  it.each([
    ["SELECT name FROM fsdir('/root')", "fsdir"],
    ["SELECT count(*) FROM FsDir('/') AS listing", "fsdir"],
    ['SELECT * FROM "fsdir"(\'/\')', "fsdir"],
    ["SELECT * FROM resource_share_increments WHERE claude_name IN (SELECT name FROM fsdir('/'))", "fsdir"],
    ["SELECT * FROM sqlite_dbpage", "sqlite_dbpage"],
    ["SELECT * FROM dbstat", "dbstat"],
  ])("refuses the table-valued %j, naming %s", async (sql, name) => {
    const db = await connection();
    expect(checkProgram(db, sql)).toEqual({ ok: false, message: expect.stringContaining(`The table-valued function ${name} is not allowed`) });
    db.close();
  });

  it.each([
    // The README's and the original system's maintenance queries.
    "SELECT timestamp, claude_name, mode, cache_read_increment FROM resource_share_increments ORDER BY timestamp DESC LIMIT 20",
    "SELECT * FROM daily_resource_share ORDER BY date DESC",
    "SELECT claude_name, mode, sum(cache_read_increment) AS tokens FROM resource_share_increments GROUP BY claude_name, mode ORDER BY tokens DESC",
    "SELECT name, type FROM pragma_table_info('resource_share_increments')",
    "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    "SELECT date(timestamp), strftime('%H', timestamp), julianday('now') - julianday(timestamp), unixepoch(timestamp) FROM resource_share_increments",
    "SELECT json_object('name', claude_name), json_extract('{\"a\":1}', '$.a'), '{\"a\":[1,2]}' ->> '$.a[1]' FROM resource_share_increments",
    "SELECT key, value FROM json_each('[1,2,3]')",
    "SELECT fullkey FROM json_tree('{\"a\":{\"b\":1}}')",
    "SELECT json_group_array(claude_name), group_concat(mode), count(*), avg(cache_read_increment), total(cost_delta) FROM resource_share_increments",
    "SELECT claude_name, row_number() OVER (PARTITION BY claude_name ORDER BY id), lag(cache_read_increment) OVER (ORDER BY id) FROM resource_share_increments",
    "SELECT round(sqrt(16) + power(2, 3) + ln(1) + floor(2.5), 2), abs(-1), upper(lower('x')), coalesce(NULL, 1), iif(1, 'y', 'n'), printf('%05d', 42)",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n",
  ])("lets %j through, and it runs", async (sql) => {
    const db = await connection();
    expect(checkProgram(db, sql)).toEqual({ ok: true });
    expect(() => db.prepare(sql).all()).not.toThrow();
    db.close();
  });

  it("reports SQL errors in SQLite's words", async () => {
    const db = await connection();
    expect(() => checkProgram(db, "SELECT nope FROM resource_share_increments")).toThrow(/no such column: nope/);
    db.close();
  });

  it("opens the database read-only at the connection: no statement can write, PRAGMA query_only = 0 included", async () => {
    const db = await connection();
    expect(() => db.exec("PRAGMA query_only = 0; DELETE FROM resource_share_increments")).toThrow(/readonly/);
    expect(db.prepare("SELECT count(*) AS n FROM resource_share_increments").get()).toMatchObject({ n: 1 });
    db.close();
  });
});
