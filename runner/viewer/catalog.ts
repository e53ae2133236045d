import type { Db } from "../../shared/context.ts";

/** One column as the database itself describes it. */
export interface ColumnInfo {
  name: string;
  type: string;
  notNull: boolean;
  defaultValue: string | null;
  primaryKey: boolean;
  generated: boolean;
}

export interface TableInfo {
  name: string;
  columns: ColumnInfo[];
  /** The CREATE statement, as stored in the schema. */
  sql: string;
  /** False for WITHOUT ROWID tables: these are paged by offset instead. */
  hasRowid: boolean;
  /** Columns that lead an index (or alias the rowid): sorting by them needs no full sort. */
  indexed: Set<string>;
  /** Which columns the agent, mode and date-range filters apply to. */
  agentColumn?: string;
  modeColumn?: string;
  /** "timestamp_ms" (Unix ms, filtered by local day bounds) or "date" (YYYY-MM-DD text). */
  dayColumn?: { name: string; kind: "ms" | "day" };
}

const USER_TABLES = "s.type = 'table' AND s.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/**
 * The tables and columns that exist, read from the database on each
 * request. Every table or column name a request names is looked up here
 * first: only names found here ever reach SQL, always quoted. Two queries
 * for the whole schema, the pragmas joined to the table list: on a libSQL
 * server each query is a round trip, and two per table made a table page
 * twenty times slower there than on a file (docs/performance.md).
 */
export async function readCatalog(db: Db): Promise<TableInfo[]> {
  const [cols, leading] = await Promise.all([
    // table_xinfo also lists generated columns (hidden 2/3); 1 is a virtual table's hidden column.
    db.execute(
      `SELECT s.name AS tbl, s.sql, c.name, c.type, c."notnull" AS nn, c.dflt_value, c.pk, c.hidden
       FROM sqlite_schema AS s, pragma_table_xinfo(s.name) AS c
       WHERE ${USER_TABLES} AND c.hidden <> 1 ORDER BY s.name, c.cid`,
    ),
    db.execute(
      `SELECT s.name AS tbl, ii.name FROM sqlite_schema AS s, pragma_index_list(s.name) AS il, pragma_index_info(il.name) AS ii
       WHERE ${USER_TABLES} AND ii.seqno = 0`,
    ),
  ]);
  const tables = new Map<string, { sql: string; columns: ColumnInfo[] }>();
  for (const c of cols.rows) {
    const name = String(c.tbl);
    let table = tables.get(name);
    if (!table) tables.set(name, (table = { sql: String(c.sql ?? ""), columns: [] }));
    table.columns.push({
      name: String(c.name),
      type: String(c.type ?? ""),
      notNull: Number(c.nn) === 1,
      defaultValue: c.dflt_value === null ? null : String(c.dflt_value),
      primaryKey: Number(c.pk) > 0,
      generated: Number(c.hidden) >= 2,
    });
  }
  const leadingOf = new Map<string, Set<string>>();
  for (const r of leading.rows) {
    const name = String(r.tbl);
    if (!leadingOf.has(name)) leadingOf.set(name, new Set());
    leadingOf.get(name)!.add(String(r.name));
  }
  const out: TableInfo[] = [];
  for (const [name, { sql, columns }] of tables) {
    const has = (n: string) => columns.some((c) => c.name === n);
    const indexed = leadingOf.get(name) ?? new Set<string>();
    const keys = columns.filter((c) => c.primaryKey);
    if (keys.length === 1 && keys[0]!.type.toUpperCase() === "INTEGER") indexed.add(keys[0]!.name);
    const info: TableInfo = { name, columns, sql, hasRowid: !/WITHOUT\s+ROWID\s*$/i.test(sql.trim()), indexed };
    if (has("claude_name")) info.agentColumn = "claude_name";
    else if (name === "claude_identities" && has("name")) info.agentColumn = "name";
    if (has("mode")) info.modeColumn = "mode";
    if (has("timestamp_ms")) info.dayColumn = { name: "timestamp_ms", kind: "ms" };
    else if (has("date")) info.dayColumn = { name: "date", kind: "day" };
    out.push(info);
  }
  return out;
}

/** A name made safe for SQL: only ever called on names from the catalog. */
export const quoteName = (name: string): string => `"${name.replace(/"/g, '""')}"`;
