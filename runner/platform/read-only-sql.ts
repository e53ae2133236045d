/**
 * The one check of "does this SQL only read": a single SELECT, WITH or
 * VALUES statement. Used by the SQL console (before anything else, so a
 * person gets a plain answer such as "DELETE statements are refused" instead
 * of SQLite's) and by every read-only connection to a libSQL server, which
 * has no query_only setting (read-only-db.ts). The connections themselves are
 * read-only as well; this is the first wall, not the only one.
 */

export type SqlCheck = { ok: true; sql: string } | { ok: false; message: string };

const READING = new Set(["SELECT", "WITH", "VALUES"]);

/** Removes comments and string contents, keeping length-free structure: enough to find keywords and semicolons. */
function skeleton(sql: string): string {
  let out = "";
  for (let i = 0; i < sql.length; ) {
    const ch = sql[i]!;
    const two = sql.slice(i, i + 2);
    if (two === "--") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
      out += " ";
    } else if (two === "/*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
      out += " ";
    } else if (ch === "'" || ch === '"' || ch === "`" || ch === "[") {
      const close = ch === "[" ? "]" : ch;
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(close, j);
        if (k < 0) { j = sql.length; break; }
        // A doubled quote is an escaped quote inside the string.
        if (close !== "]" && sql[k + 1] === close) { j = k + 2; continue; }
        j = k + 1;
        break;
      }
      out += ch === "'" ? "''" : "x";
      i = j;
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}

export function checkReadOnlySql(input: string): SqlCheck {
  const sql = input.trim().replace(/;\s*$/, "").trim();
  const shape = skeleton(sql).trim();
  if (!shape) return { ok: false, message: "Write a SELECT statement to run, e.g. SELECT * FROM claude_identities." };
  if (shape.includes(";"))
    return { ok: false, message: "Run one statement at a time: the console found a semicolon between statements." };
  const keyword = (/^[A-Za-z]+/.exec(shape)?.[0] ?? "").toUpperCase();
  if (keyword === "PRAGMA")
    return {
      ok: false,
      message: "This connection is read-only: PRAGMA statements can change the database's settings and are refused here. Read them as tables instead, e.g. SELECT * FROM pragma_table_info('resource_share_increments').",
    };
  if (!READING.has(keyword))
    return {
      ok: false,
      message: `This connection is read-only: ${keyword || "this"} statements are refused and nothing was changed. Only SELECT, WITH and VALUES run here; make changes with the sqlite3 shell (see the README, section "The database").`,
    };
  return { ok: true, sql };
}
