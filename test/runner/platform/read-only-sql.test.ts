import { describe, expect, it } from "vitest";
import { checkReadOnlySql } from "../../../runner/platform/read-only-sql.ts";

describe("the read-only statement check", () => {
  it.each([
    ["DELETE FROM resource_share_increments", /DELETE statements are refused/],
    ["update claude_identities set active = 0", /UPDATE statements are refused/],
    ["INSERT INTO claude_identities (name) VALUES ('x')", /INSERT statements are refused/],
    ["  -- a comment first\nREPLACE INTO claude_identities (name) VALUES ('x')", /REPLACE statements are refused/],
    ["ATTACH DATABASE '/tmp/other.db' AS other", /ATTACH statements are refused/],
    ["DROP TABLE fair_allocations", /DROP statements are refused/],
    ["PRAGMA journal_mode = DELETE", /PRAGMA statements can change/],
    ["PRAGMA query_only = 0", /PRAGMA statements can change/],
    ["VACUUM INTO '/tmp/copy.db'", /VACUUM statements are refused/],
    ["SELECT 1; DELETE FROM resource_share_increments", /one statement at a time/],
    ["/* hidden */ DELETE FROM resource_share_increments", /DELETE statements are refused/],
    ["", /Write a SELECT statement/],
  ])("refuses %j", (sql, message) => {
    const check = checkReadOnlySql(sql);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.message).toMatch(message);
  });

  it.each([
    ["SELECT 1;", "SELECT 1"],
    ["select ';' as semicolon, \"a;b\" from claude_identities", "select ';' as semicolon, \"a;b\" from claude_identities"],
    ["WITH t AS (SELECT 1 AS x) SELECT x FROM t", "WITH t AS (SELECT 1 AS x) SELECT x FROM t"],
    ["VALUES (1), (2)", "VALUES (1), (2)"],
    ["SELECT 'it''s; fine' -- a trailing comment", "SELECT 'it''s; fine' -- a trailing comment"],
  ])("lets the query %j through", (sql, expected) => {
    expect(checkReadOnlySql(sql)).toEqual({ ok: true, sql: expected });
  });
});
