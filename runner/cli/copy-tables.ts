import type { InValue, Row } from "@libsql/client";
import type { Db } from "../../shared/context.ts";

/** How one table is copied: its stored columns and the key chunks are cut by. */
export interface TableShape {
  name: string;
  /** Stored columns in table order (generated columns are recomputed by the destination). */
  columns: string[];
  /** What chunks are cut by: the INTEGER PRIMARY KEY column, or "rowid". */
  key: string;
  /** The declared primary key: how a row already in the destination is recognised. */
  primaryKey: string[];
  /** Columns whose sums are compared after the copy: the key, tokens, costs, counts... */
  numeric: string[];
}

export interface TableTotals {
  rows: number;
  /** Column → sum: bigint for integer columns (exact), number for real ones. */
  sums: Record<string, bigint | number>;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Tables made from the others, not data: the hourly rollup and its
 * watermark. Copied, the watermark would claim reports the copy's rollup
 * does not hold; the destination rebuilds its own instead (see copy.ts).
 */
export const DERIVED_TABLES = ["usage_hourly", "usage_hourly_state"];

/**
 * The data tables of a database, in creation order. The migration ledger is
 * left out (the destination keeps its own, through the same migrations), as
 * are the derived tables and SQLite's and the server's internal tables.
 */
export async function dataTables(db: Db): Promise<string[]> {
  const rs = await db.execute(
    `SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'
       AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'libsql\\_%' ESCAPE '\\'
       AND name NOT LIKE '\\_%' ESCAPE '\\' AND name <> 'schema_migrations'
     ORDER BY rowid`,
  );
  return rs.rows.map((r) => String(r.name)).filter((name) => !DERIVED_TABLES.includes(name));
}

// SQLite's column affinity rules, for the columns worth summing.
const INTEGER_TYPE = /INT/i;
const REAL_TYPE = /REAL|FLOA|DOUB/i;

export async function tableShape(db: Db, name: string): Promise<TableShape> {
  const rs = await db.execute(`PRAGMA table_xinfo(${quote(name)})`);
  // hidden: 0 an ordinary column, 2/3 generated (virtual/stored).
  const stored = rs.rows.filter((r) => Number(r.hidden) === 0);
  const pk = stored.filter((r) => Number(r.pk) > 0);
  const rowidAlias = pk.length === 1 && String(pk[0]!.type).toUpperCase() === "INTEGER" ? String(pk[0]!.name) : undefined;
  if (!rowidAlias) {
    const withoutRowid = await db.execute(`SELECT rowid FROM ${quote(name)} LIMIT 0`).then(
      () => false,
      () => true,
    );
    if (withoutRowid) throw new Error(`Table ${name} is a WITHOUT ROWID table; the copy tool cannot cut it into chunks.`);
  }
  const columns = stored.map((r) => String(r.name));
  const primaryKey = [...pk].sort((a, b) => Number(a.pk) - Number(b.pk)).map((r) => String(r.name));
  const numeric = stored.filter((r) => INTEGER_TYPE.test(String(r.type)) || REAL_TYPE.test(String(r.type))).map((r) => String(r.name));
  // A rowid that is not a declared key is not data: neither copied nor compared.
  return { name, columns, key: rowidAlias ?? "rowid", primaryKey, numeric };
}

/** Row count and the sum of every numeric column: what the copy is verified by. */
export async function tableTotals(db: Db, shape: TableShape): Promise<TableTotals> {
  const sums = (fn: "sum" | "total") =>
    db.execute(`SELECT count(*) AS "#rows", ${shape.numeric.map((c) => `${fn}(${quote(c)}) AS ${quote(c)}`).join(", ") || "0"} FROM ${quote(shape.name)}`);
  // sum() of integers is exact but stops at 2^63; total() always answers, as a float.
  const rs = await sums("sum").catch((err: Error) => (/overflow/i.test(err.message) ? sums("total") : Promise.reject(err)));
  const row = rs.rows[0]!;
  const out: TableTotals = { rows: Number(row["#rows"]), sums: {} };
  for (const c of shape.numeric) {
    const v = row[c];
    out.sums[c] = typeof v === "bigint" || typeof v === "number" ? v : 0n;
  }
  return out;
}

/** Floats summed in another order may differ in the last bits; integers must match exactly. */
export function sameSum(a: bigint | number, b: bigint | number): boolean {
  if (typeof a === "bigint" && typeof b === "bigint") return a === b;
  const x = Number(a);
  const y = Number(b);
  return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
}

export interface CopyProgress {
  /** Rows written to the destination: new, or different there. */
  copied: number;
  /** Rows the destination already held, identical (an earlier copy). */
  skipped: number;
}

/** Every stored column of a table, and its rowid when that is what chunks are cut by. */
const selectRows = (shape: TableShape) =>
  `SELECT ${shape.key === "rowid" ? "rowid AS rowid, " : ""}${shape.columns.map(quote).join(", ")} FROM ${quote(shape.name)}`;

/** What a destination row is matched to a source row by: the declared key, else the rowid the copy carries over. */
const matchColumns = (shape: TableShape) => (shape.primaryKey.length > 0 ? shape.primaryKey : ["rowid"]);

const keyOf = (row: Row, match: string[]) => match.map((c) => `${typeof row[c]}:${String(row[c])}`).join("\u0000");

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof ArrayBuffer && b instanceof ArrayBuffer) return Buffer.from(a).equals(Buffer.from(b));
  // An integer and a real are the same value when equal as numbers, as SQLite's IS compares them.
  if (typeof a === "bigint" && typeof b === "number") return Number.isInteger(b) && BigInt(b) === a;
  if (typeof a === "number" && typeof b === "bigint") return sameValue(b, a);
  return a === b;
}

const showValue = (v: unknown) =>
  v === null || v === undefined ? "NULL" : typeof v === "string" ? JSON.stringify(v) : v instanceof ArrayBuffer ? `a ${v.byteLength}-byte blob` : String(v);

export interface ForeignRows {
  /** Destination rows that are neither the source's row with the same key nor a row the migrations create. */
  count: number;
  /** The first of them, described for a person. */
  example?: string;
}

/**
 * Which of the destination's rows did not come from this source. Checked for
 * every table before anything is written, because the copy's upsert would
 * otherwise overwrite them and still verify (same counts, same sums).
 *
 * A resumed copy is recognised by what a copy leaves behind: each chunk lands
 * whole, so an earlier run from the same source left only rows equal, column
 * by column, to the source's row with the same key (the declared primary
 * key; the rowid for a table without one, which the copy carries over). The
 * one other kind of row allowed is one the migrations create in every new
 * database (aggregation_state's), recognised by equality with the same row
 * of `seed`, a freshly migrated empty database: the source's values replace
 * it. Anything else (a key the source lacks, or a row that differs) is
 * another database's data, or the source changed since the earlier run.
 * Counts and sums alone cannot tell these apart; rows can.
 */
export async function foreignRows(from: Db, to: Db, seed: Db, shape: TableShape, chunkRows: number): Promise<ForeignRows> {
  const match = matchColumns(shape);
  const select = selectRows(shape);
  const index = (rows: Row[]) => new Map(rows.map((r) => [keyOf(r, match), r]));
  const seeded = index((await seed.execute(select)).rows);
  const found: ForeignRows = { count: 0 };
  const key = quote(shape.key);
  let last: InValue | undefined;
  for (;;) {
    const chunk = await to.execute({
      sql: `${select} ${last === undefined ? "" : `WHERE ${key} > ?`} ORDER BY ${key} LIMIT ?`,
      args: last === undefined ? [chunkRows] : [last, chunkRows],
    });
    if (chunk.rows.length === 0) break;
    const one = `(${match.map(() => "?").join(", ")})`;
    const lookup =
      match.length === 1
        ? `${quote(match[0]!)} IN (${chunk.rows.map(() => "?").join(", ")})`
        : `(${match.map(quote).join(", ")}) IN (VALUES ${chunk.rows.map(() => one).join(", ")})`;
    const theirs = index(
      (await from.execute({ sql: `${select} WHERE ${lookup}`, args: chunk.rows.flatMap((r: Row) => match.map((c) => r[c] as InValue)) })).rows,
    );
    for (const row of chunk.rows) {
      const k = keyOf(row, match);
      const source = theirs.get(k);
      const differs = (other: Row) => shape.columns.filter((c) => !sameValue(row[c], other[c]));
      if (source && differs(source).length === 0) continue;
      const seed = seeded.get(k);
      if (seed && differs(seed).length === 0) continue;
      found.count++;
      if (found.example) continue;
      const which = match.map((c) => `${c} ${showValue(row[c])}`).join(", ");
      found.example = source
        ? `${which}: ${differs(source)
            .slice(0, 3)
            .map((c) => `${c} ${showValue(row[c])} there, ${showValue(source[c])} in the source`)
            .join("; ")}`
        : `${which} is not in the source`;
    }
    last = chunk.rows[chunk.rows.length - 1]![shape.key] as InValue;
    if (chunk.rows.length < chunkRows) break;
  }
  return found;
}

/**
 * The INSERT for one chunk. A row whose key the destination already holds
 * is overwritten with the source's values when they differ (only rows the
 * migrations seed, such as aggregation_state's, can: foreignRows refused any
 * other before the copy began) and left alone when identical, so a rerun writes nothing twice
 * and `changes` counts what was really copied.
 */
function insertSql(shape: TableShape, rows: number): { sql: string; cols: string[] } {
  const withRowid = shape.primaryKey.length === 0;
  const cols = withRowid ? ["rowid", ...shape.columns] : shape.columns;
  const values = Array.from({ length: rows }, () => `(${cols.map(() => "?").join(", ")})`).join(", ");
  let conflict: string;
  if (withRowid) conflict = "ON CONFLICT DO NOTHING";
  else {
    const rest = shape.columns.filter((c) => !shape.primaryKey.includes(c));
    conflict =
      rest.length === 0
        ? "ON CONFLICT DO NOTHING"
        : `ON CONFLICT (${shape.primaryKey.map(quote).join(", ")}) DO UPDATE SET ${rest.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(", ")}
           WHERE (${rest.map((c) => `${quote(shape.name)}.${quote(c)}`).join(", ")}) IS NOT (${rest.map((c) => `excluded.${quote(c)}`).join(", ")})`;
  }
  return { sql: `INSERT INTO ${quote(shape.name)} (${cols.map(quote).join(", ")}) VALUES ${values} ${conflict}`, cols };
}

/**
 * Copies one table in chunks ordered by its key. Each chunk is one INSERT,
 * so it lands whole or not at all; rows the destination already holds
 * unchanged are skipped, so an interrupted copy run again carries on
 * without writing anything twice.
 */
export async function copyTable(
  from: Db,
  to: Db,
  shape: TableShape,
  { chunkRows, onChunk }: { chunkRows: number; onChunk: (p: CopyProgress) => void },
): Promise<CopyProgress> {
  const key = quote(shape.key);
  const select = selectRows(shape);
  const progress: CopyProgress = { copied: 0, skipped: 0 };
  let last: InValue | undefined;
  for (;;) {
    const chunk = await from.execute({
      sql: `${select} ${last === undefined ? "" : `WHERE ${key} > ?`} ORDER BY ${key} LIMIT ?`,
      args: last === undefined ? [chunkRows] : [last, chunkRows],
    });
    if (chunk.rows.length === 0) break;
    const { sql, cols } = insertSql(shape, chunk.rows.length);
    let written: number;
    try {
      written = (await to.execute({ sql, args: chunk.rows.flatMap((r: Row) => cols.map((c) => r[c] as InValue)) })).rowsAffected;
    } catch (err) {
      throw new Error(
        `${shape.name}: the destination refused the rows after ${shape.key} ${String(last ?? 0)}: ${(err as Error).message}. ` +
          "It holds other data than a copy of this source; copy into an empty database.",
        { cause: err },
      );
    }
    last = chunk.rows[chunk.rows.length - 1]![shape.key] as InValue;
    progress.copied += written;
    progress.skipped += chunk.rows.length - written;
    onChunk(progress);
    if (chunk.rows.length < chunkRows) break;
  }
  await carrySequence(from, to, shape.name);
  return progress;
}

/**
 * AUTOINCREMENT never reuses an id, even of a deleted row: carry the
 * source's counter over so the destination does not hand out ids the
 * source already used.
 */
async function carrySequence(from: Db, to: Db, table: string): Promise<void> {
  const hasSequence = async (db: Db) =>
    (await db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'")).rows.length > 0;
  if (!(await hasSequence(from)) || !(await hasSequence(to))) return;
  const rs = await from.execute({ sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", args: [table] });
  const seq = rs.rows[0]?.seq as InValue | undefined;
  if (seq === undefined || seq === null) return;
  await to.batch(
    [
      { sql: "UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?", args: [seq, table, seq] },
      { sql: "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)", args: [table, seq, table] },
    ],
    "write",
  );
}
