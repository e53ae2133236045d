import { describe, expect, it } from "vitest";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { jsonRow, readJsonRow } from "../../shared/jsonRows.ts";
import { openTestDatabase, sqlite3 } from "../support/database.ts";

/** Values of every storage class, including those plain JSON would bend, written by the sqlite3 CLI. */
const VALUES = [
  "0.1 + 0.2", // needs 17 significant digits
  "1e-320", // subnormal
  "-0.0",
  "1.7976931348623157e308",
  "9e999", // +Infinity
  "-9e999",
  "2.0",
  "42",
  "-9007199254740991",
  "9007199254740993", // beyond 2^53
  "-9223372036854775808",
  "x'00ff7f22'",
  "x''",
  "'text with \"quotes\", a comma,\nline breaks and ünïcödé'",
  "''",
  "NULL",
];

describe("rows as JSON", () => {
  it("reads every value exactly as the client does, bigint beyond 2^53 and ArrayBuffer for blobs", async () => {
    const seeded = await openTestDatabase();
    seeded.close();
    sqlite3(seeded.path, `CREATE TABLE sample (n INTEGER PRIMARY KEY, v ANY, t TEXT, r REAL);
      ${VALUES.map((v, i) => `INSERT INTO sample (n, v, t, r) VALUES (${i}, ${v}, ${v}, ${v});`).join("\n")}`);
    const db = await openDatabase({ url: `file:${seeded.path}`, queryOnly: true, intMode: "bigint" });
    try {
      const cells = await db.db.execute("SELECT v, t, r FROM sample ORDER BY n");
      const json = await db.db.execute(`SELECT ${jsonRow(['"v"', '"t"', '"r"'], ["", "TEXT", "REAL"])} AS row FROM sample ORDER BY n`);
      // The client's own reading, with integers that fit a double as numbers (intMode "number").
      const exact = (x: unknown) => (typeof x === "bigint" && Number.isSafeInteger(Number(x)) ? Number(x) : x);
      const expected = cells.rows.map((r) => [exact(r.v), exact(r.t), exact(r.r)]);
      const got = json.rows.map((r) => readJsonRow(r.row));
      expect(got).toHaveLength(VALUES.length);
      got.forEach((row, i) => row.forEach((value, j) => {
        const want = expected[i]![j];
        if (want instanceof ArrayBuffer) expect([...new Uint8Array(value as ArrayBuffer)]).toEqual([...new Uint8Array(want)]);
        // -0.0 is stored as 0 by SQLite's own text of it; both read 0.
        else expect(value, `${VALUES[i]} in column ${j}`).toStrictEqual(want);
      }));
      expect(got[0]![0]).toBe(0.30000000000000004);
      expect(got[9]![0]).toBe(9007199254740993n);
    } finally {
      db.close();
    }
  });
});
