import type Sqlite from "libsql";

/**
 * The SQL console's second check, made on what SQLite will execute rather
 * than on the text a person typed. SQLite resolves a function whatever its
 * spelling (any case, quoted as "f", [f] or `f`, comments before the
 * parenthesis, inside a view, a subquery, a CTE, a CASE or an ORDER BY), so
 * the only reliable place to see which functions a statement calls is its
 * compiled program: `EXPLAIN` lists every call with the function's name.
 * A query whose program calls anything outside the allow-list below, or
 * opens a virtual table other than json_each, json_tree and the pragma_*
 * tables, is refused before it runs.
 *
 * Why an allow-list: this build of libSQL carries readfile(), writefile(),
 * fsdir, load_extension(), sqlite_dbpage and more, and the next build may
 * carry others. A read of the database needs only SQLite's own functions.
 */

export type ProgramCheck = { ok: true } | { ok: false; message: string };

/** SQLite's built-in scalar, aggregate, window, date, JSON and math functions. */
const ALLOWED_FUNCTIONS = new Set(
  [
    // scalar
    "abs changes char coalesce concat concat_ws format glob hex ifnull iif instr last_insert_rowid length like",
    "likelihood likely lower ltrim max min nullif octet_length printf quote random randomblob replace round rtrim",
    "sign soundex sqlite_compileoption_get sqlite_compileoption_used sqlite_offset sqlite_source_id sqlite_version",
    "substr substring total_changes trim typeof unhex unicode unlikely upper zeroblob",
    // math
    "acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log log10 log2 mod pi pow",
    "power radians sin sinh sqrt tan tanh trunc",
    // aggregate and window
    "avg count group_concat string_agg sum total row_number rank dense_rank percent_rank cume_dist ntile lag lead",
    "first_value last_value nth_value",
    // date and time
    "date time datetime julianday strftime unixepoch timediff current_date current_time current_timestamp",
    // JSON
    "json json_array json_array_length json_error_position json_extract json_insert json_object json_patch",
    "json_pretty json_quote json_remove json_replace json_set json_type json_valid json_group_array",
    "json_group_object jsonb jsonb_array jsonb_extract jsonb_insert jsonb_object jsonb_patch jsonb_remove",
    "jsonb_replace jsonb_set jsonb_group_array jsonb_group_object -> ->>",
  ]
    .join(" ")
    .split(" "),
);

const isAllowedTable = (name: string): boolean => name === "json_each" || name === "json_tree" || name.startsWith("pragma_");

/** The opcodes that call a function; their P4 reads `name(argument count)`. */
const CALLS = new Set(["Function", "PureFunc", "AggStep", "AggStep1", "AggInverse", "AggValue", "AggFinal"]);

const FUNCTION_P4 = /^(.+)\((-?\d+)\)$/;

type ExplainRow = [addr: number, opcode: string, p1: number, p2: number, p3: number, p4: unknown, p5: number, comment: unknown];

function explain(db: Sqlite.Database, sql: string): ExplainRow[] {
  return db.prepare(`EXPLAIN ${sql}`).raw(true).all() as ExplainRow[];
}

/**
 * `EXPLAIN` shows an opened virtual table only as its address (`vtab:…`).
 * The table-valued functions a connection knows are created once and kept
 * for the connection's life, so their addresses name them: this map is
 * built by compiling a read of each one on the same connection.
 */
const tableNames = new WeakMap<Sqlite.Database, Map<string, string>>();

function virtualTableNames(db: Sqlite.Database): Map<string, string> {
  const known = tableNames.get(db);
  if (known) return known;
  const names = [
    ...(db.prepare("SELECT name FROM pragma_module_list").raw(true).all() as [string][]).map(([n]) => n),
    ...(db.prepare("SELECT 'pragma_' || name FROM pragma_pragma_list").raw(true).all() as [string][]).map(([n]) => n),
  ];
  const byAddress = new Map<string, string>();
  for (const name of names) {
    let program: ExplainRow[];
    try {
      program = explain(db, `SELECT * FROM "${name.replaceAll('"', '""')}"`);
    } catch {
      continue; // a module that needs CREATE VIRTUAL TABLE first (fts5, rtree): not callable as a function
    }
    for (const row of program) if (row[1] === "VOpen") byAddress.set(String(row[5]), name);
  }
  tableNames.set(db, byAddress);
  return byAddress;
}

/**
 * Learns the connection's virtual tables ahead of the first query (about
 * seventy compilations), so that work is not counted in a query's time limit.
 */
export function prepareChecks(db: Sqlite.Database): void {
  virtualTableNames(db);
}

const NOTHING_RAN = "nothing was read or written";

/**
 * Compiles `sql` on `db` (without running it) and checks every function it
 * calls and every virtual table it opens. SQL errors (a missing column, bad
 * syntax) are thrown as SQLite reports them.
 */
export function checkProgram(db: Sqlite.Database, sql: string): ProgramCheck {
  for (const [, opcode, , , , p4] of explain(db, sql)) {
    if (CALLS.has(opcode)) {
      const name = FUNCTION_P4.exec(String(p4))?.[1] ?? String(p4);
      if (!ALLOWED_FUNCTIONS.has(name.toLowerCase()))
        return {
          ok: false,
          message:
            `The function ${name}() is not allowed in the SQL console, and ${NOTHING_RAN}. The console runs only what a read of ` +
            "the database needs: SQLite's built-in scalar, aggregate, window, date, JSON and math functions. Functions that reach " +
            "files, processes, extensions or other databases are refused however they are spelled.",
        };
    } else if (opcode === "VOpen") {
      const name = virtualTableNames(db).get(String(p4));
      if (name === undefined || !isAllowedTable(name))
        return {
          ok: false,
          message:
            `${name === undefined ? "This virtual table" : `The table-valued function ${name}`} is not allowed in the SQL console, and ${NOTHING_RAN}. ` +
            "Only json_each, json_tree and the pragma_* tables (e.g. pragma_table_info('resource_share_increments')) run here.",
        };
    }
  }
  return { ok: true };
}
