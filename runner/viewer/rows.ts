import type { InValue } from "@libsql/client";
import type { Db } from "../../shared/context.ts";
import { dayProblem } from "../../shared/fields.ts";
import { addDays, dayBounds } from "../../shared/time.ts";
import { jsonRow, readJsonRow } from "../../shared/jsonRows.ts";
import { quoteName, type TableInfo } from "./catalog.ts";

export const PAGE_SIZES = [25, 50, 100, 500] as const;

/** What a table page shows, parsed from its query string. */
export interface TableView {
  table: TableInfo;
  /** A column of the table, or undefined for the table's own order (rowid). */
  sort: string | undefined;
  desc: boolean;
  agent: string;
  mode: string;
  from: string;
  to: string;
  page: number;
  size: number;
}

/**
 * Reads the query string against the catalog. Unknown sort columns, modes,
 * dates or sizes are reported back as messages, never passed on.
 */
export function parseView(table: TableInfo, q: Record<string, string | undefined>): { view: TableView; problems: string[] } {
  const problems: string[] = [];
  let sort = q.sort || undefined;
  if (sort !== undefined && !table.columns.some((c) => c.name === sort)) {
    problems.push(`There is no column "${sort}" in ${table.name}; showing the table's own order.`);
    sort = undefined;
  }
  const dayParam = (key: "from" | "to") => {
    const value = (q[key] ?? "").trim();
    const problem = value ? dayProblem(value) : undefined;
    if (problem) {
      problems.push(`"${key}" ${problem}; ignored.`);
      return "";
    }
    return value;
  };
  let mode = q.mode ?? "";
  if (mode && mode !== "autonomy" && mode !== "collaboration") {
    problems.push('"mode" must be autonomy or collaboration; ignored.');
    mode = "";
  }
  const size = PAGE_SIZES.find((s) => String(s) === q.size) ?? 50;
  const page = Math.max(1, Math.min(1e9, Number.parseInt(q.page ?? "1", 10) || 1));
  return {
    view: {
      table, sort, desc: sort === undefined ? q.dir !== "asc" : q.dir === "desc",
      agent: (q.agent ?? "").trim(), mode, from: dayParam("from"), to: dayParam("to"), page, size,
    },
    problems,
  };
}

/** The WHERE clause of a view: filters apply only where the table has the column. */
export function whereOf(view: TableView, timeZone: string): { sql: string; args: InValue[] } {
  const parts: string[] = [];
  const args: InValue[] = [];
  const t = view.table;
  if (view.agent && t.agentColumn) {
    parts.push(`${quoteName(t.agentColumn)} = ?`);
    args.push(view.agent);
  }
  if (view.mode && t.modeColumn) {
    parts.push(`${quoteName(t.modeColumn)} = ?`);
    args.push(view.mode);
  }
  if (t.dayColumn) {
    const col = quoteName(t.dayColumn.name);
    if (view.from) {
      parts.push(`${col} >= ?`);
      args.push(t.dayColumn.kind === "ms" ? dayBounds(view.from, timeZone).start : view.from);
    }
    if (view.to) {
      parts.push(`${col} < ?`);
      args.push(t.dayColumn.kind === "ms" ? dayBounds(view.to, timeZone).end : addDays(view.to, 1));
    }
  }
  return { sql: parts.length ? parts.join(" AND ") : "1", args };
}

const orderOf = (view: TableView): string => {
  const dir = view.desc ? "DESC" : "ASC";
  const key = view.table.hasRowid ? `, rowid ${dir}` : "";
  return view.sort === undefined
    ? view.table.hasRowid ? `rowid ${dir}` : "1"
    : `${quoteName(view.sort)} ${dir}${key}`;
};

export async function countRows(db: Db, view: TableView, timeZone: string): Promise<number> {
  const where = whereOf(view, timeZone);
  const rs = await db.execute({ sql: `SELECT count(*) AS n FROM ${quoteName(view.table.name)} WHERE ${where.sql}`, args: where.args });
  return Number(rs.rows[0]?.n ?? 0);
}

export interface RowsPage {
  columns: string[];
  rows: unknown[][];
}

/** One page of a view for the screen (offset paging: people rarely go deep). */
export async function readPage(db: Db, view: TableView, timeZone: string): Promise<RowsPage> {
  const where = whereOf(view, timeZone);
  const rs = await db.execute({
    sql: `SELECT * FROM ${quoteName(view.table.name)} WHERE ${where.sql} ORDER BY ${orderOf(view)} LIMIT ? OFFSET ?`,
    args: [...where.args, view.size, (view.page - 1) * view.size],
  });
  return { columns: view.table.columns.map((c) => c.name), rows: rs.rows.map((r) => view.table.columns.map((_, i) => r[i])) };
}

/**
 * Rows per read. Each read of a sort on an unindexed column scans and
 * sorts the whole table (top-N) again, so those read in larger batches.
 * Smaller is not better either, through @libsql/client (a libSQL server):
 * it prepares a statement per read and frees it only when V8 collects the
 * statement's small wrapper, tens of KB of native memory each for these
 * reads; much larger batches keep their rows alive longer in the heap. On
 * a file the export reads through one prepared statement instead
 * (runner/platform/file-connection.ts). Figures: docs/performance.md, "Settings chosen by measurement".
 */
const INDEXED_BATCH = 2000;
const UNINDEXED_BATCH = 10_000;

/**
 * Every row of a view, in the view's order, a batch at a time. Keyset
 * reads (continue after the last row's sort value and rowid) keep each
 * batch as cheap as the first, so a million rows stream in bounded memory.
 * SQLite sorts NULLs first ascending, so those are read as their own phase.
 */
export async function* streamRows(db: Pick<Db, "execute">, view: TableView, timeZone: string): AsyncGenerator<unknown[][]> {
  const t = view.table;
  const BATCH = view.sort === undefined || t.indexed.has(view.sort) ? INDEXED_BATCH : UNINDEXED_BATCH;
  const where = whereOf(view, timeZone);
  const table = quoteName(t.name);
  const width = t.columns.length;
  const names = t.columns.map((c) => quoteName(c.name));
  // Each row crosses the client as one JSON cell (shared/jsonRows.ts: a
  // third of the time and garbage of cells); rowid rides last, for the keyset.
  const types = t.columns.map((c) => c.type);
  const rowSql = t.hasRowid ? jsonRow([...names, "rowid"], [...types, "INTEGER"]) : jsonRow(names, types);
  const run = async (sql: string, args: InValue[]): Promise<unknown[][]> =>
    (await db.execute({ sql, args: [...where.args, ...args] })).rows.map((r) => readJsonRow(r.json_row));
  const select = `SELECT ${rowSql} AS json_row FROM ${table} WHERE ${where.sql}`;
  // Drops the trailing rowid in place: a copy of every row would be garbage.
  const cut = (rows: unknown[][]) => {
    for (const r of rows) r.length = width;
    return rows;
  };
  const rowidOf = (r: unknown[]) => r[width] as number;

  if (!t.hasRowid) {
    for (let offset = 0; ; offset += BATCH) {
      const rows = await run(`${select} ORDER BY ${orderOf(view)} LIMIT ? OFFSET ?`, [BATCH, offset]);
      if (rows.length) yield rows;
      if (rows.length < BATCH) return;
    }
  }
  const cmp = view.desc ? "<" : ">";
  const dir = view.desc ? "DESC" : "ASC";

  if (view.sort === undefined) {
    // The span of matching rowids, read once (through an index where the
    // filters have one), so the batches stop at its end instead of scanning
    // the rest of the table for rows that are not there.
    const [bounds] = (await db.execute({ sql: `SELECT min(rowid) AS lo, max(rowid) AS hi FROM ${table} WHERE ${where.sql}`, args: where.args })).rows;
    if (bounds?.lo == null || bounds.hi == null) return;
    let [lo, hi] = [Number(bounds.lo), Number(bounds.hi)];
    for (;;) {
      // NOT INDEXED: walk the rowids. Given an index on a filter, the planner
      // may read every matching row and sort them again for each batch.
      const rows = await run(
        `SELECT ${rowSql} AS json_row FROM ${table} NOT INDEXED WHERE ${where.sql} AND rowid BETWEEN ? AND ? ORDER BY rowid ${dir} LIMIT ${BATCH}`,
        [lo, hi],
      );
      const last = rowidOf(rows[rows.length - 1] ?? []);
      if (rows.length) yield cut(rows);
      if (rows.length < BATCH) return;
      if (view.desc) hi = last - 1;
      else lo = last + 1;
    }
  }
  const col = quoteName(view.sort);
  async function* nulls() {
    let last: InValue | undefined;
    for (;;) {
      const rows = await run(`${select} AND ${col} IS NULL${last === undefined ? "" : ` AND rowid ${cmp} ?`} ORDER BY rowid ${dir} LIMIT ${BATCH}`, last === undefined ? [] : [last]);
      last = rowidOf(rows[rows.length - 1] ?? []);
      if (rows.length) yield cut(rows);
      if (rows.length < BATCH) return;
    }
  }
  async function* values() {
    let last: [InValue, InValue] | undefined;
    const sortIndex = t.columns.findIndex((c) => c.name === view.sort);
    for (;;) {
      const rows = await run(
        `${select} AND ${col} IS NOT NULL${last === undefined ? "" : ` AND (${col}, rowid) ${cmp} (?, ?)`} ORDER BY ${col} ${dir}, rowid ${dir} LIMIT ${BATCH}`,
        last ?? [],
      );
      const r = rows[rows.length - 1] ?? [];
      last = [r[sortIndex] as InValue, rowidOf(r)];
      if (rows.length) yield cut(rows);
      if (rows.length < BATCH) return;
    }
  }
  if (view.desc) {
    yield* values();
    yield* nulls();
  } else {
    yield* nulls();
    yield* values();
  }
}
