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

/**
 * The tables and columns that exist, read from the database on each
 * request. Every table or column name a request names is looked up here
 * first: only names found here ever reach SQL, always quoted.
 */
export async function readCatalog(db: Db): Promise<TableInfo[]> {
  const tables = await db.execute(
    "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
  );
  const out: TableInfo[] = [];
  for (const t of tables.rows) {
    const name = String(t.name);
    const sql = String(t.sql ?? "");
    // table_xinfo also lists generated columns (hidden 2/3); 1 is a virtual table's hidden column.
    const cols = await db.execute({
      sql: "SELECT name, type, \"notnull\" AS nn, dflt_value, pk, hidden FROM pragma_table_xinfo(?) WHERE hidden <> 1 ORDER BY cid",
      args: [name],
    });
    const columns: ColumnInfo[] = cols.rows.map((c) => ({
      name: String(c.name),
      type: String(c.type ?? ""),
      notNull: Number(c.nn) === 1,
      defaultValue: c.dflt_value === null ? null : String(c.dflt_value),
      primaryKey: Number(c.pk) > 0,
      generated: Number(c.hidden) >= 2,
    }));
    const has = (n: string) => columns.some((c) => c.name === n);
    const leading = await db.execute({
      sql: "SELECT ii.name FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii WHERE ii.seqno = 0",
      args: [name],
    });
    const indexed = new Set(leading.rows.map((r) => String(r.name)));
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
