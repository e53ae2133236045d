/**
 * Rows read as JSON text that SQLite writes, instead of as cells.
 * @libsql/client builds every cell of a result with Object.defineProperty
 * and every integer as a BigInt first, a microsecond and kilobytes of
 * garbage per row. One text cell per row (or per result) and JSON.parse
 * cost a fraction of that, in time and in memory (docs/performance.md, "Settings chosen by measurement").
 *
 * JSON alone would not carry every value exactly, so some are written
 * differently: a real through printf with 17 significant digits (the '!'
 * flag lifts printf's 16-digit cap; SQLite's own JSON keeps 15, and
 * 0.1 + 0.2 would come back as 0.3), infinities as SQLite's 9.0e+999 (which
 * JSON.parse reads as Infinity), an integer beyond 2^53 as {"int": "digits"},
 * a blob as {"blob": "hex"}. readJsonRow turns those back into a bigint and
 * an ArrayBuffer, as the client would give them with intMode "bigint".
 */

const MAX_SAFE = 9007199254740991;

/**
 * SQL for one value (a quoted column name or an expression) written so JSON
 * carries it exactly. A column of TEXT affinity (declared type naming CHAR,
 * CLOB or TEXT, not INT) holds only text, NULL or blobs, so it needs the
 * blob case only: a shorter statement, and the client keeps each prepared
 * statement's memory until V8 collects it, which on an export of a million
 * rows adds up.
 */
export function exactJson(expr: string, declaredType = ""): string {
  const blob = `json_object('blob', hex(${expr}))`;
  const real = `CASE WHEN abs(${expr}) <= 1.7976931348623157e308 THEN json(printf('%!.17g', ${expr})) ELSE json_quote(${expr}) END`;
  if (/CHAR|CLOB|TEXT/i.test(declaredType) && !/INT/i.test(declaredType)) return `iif(typeof(${expr}) = 'blob', ${blob}, ${expr})`;
  // REAL affinity stores integers as reals: no integer case.
  if (/REAL|FLOA|DOUB/i.test(declaredType) && !/INT|CHAR|CLOB|TEXT|BLOB/i.test(declaredType))
    return `CASE typeof(${expr}) WHEN 'real' THEN ${real} WHEN 'blob' THEN ${blob} ELSE ${expr} END`;
  return `CASE typeof(${expr})
    WHEN 'real' THEN ${real}
    WHEN 'integer' THEN CASE WHEN ${expr} BETWEEN -${MAX_SAFE} AND ${MAX_SAFE} THEN ${expr} ELSE json_object('int', CAST(${expr} AS TEXT)) END
    WHEN 'blob' THEN ${blob}
    ELSE ${expr} END`;
}

/** SQL for a row's values as one JSON array, read back with readJsonRow; declared types as in exactJson, if known. */
export function jsonRow(exprs: readonly string[], declaredTypes: readonly string[] = []): string {
  return `json_array(${exprs.map((e, i) => exactJson(e, declaredTypes[i])).join(", ")})`;
}

function fromHex(hex: string): ArrayBuffer {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes.buffer;
}

/** The values of a jsonRow array, already parsed; the wrapped ones are unwrapped in place. */
export function unwrapJsonRow(values: unknown[]): unknown[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "object" && v !== null) {
      const o = v as { int?: string; blob?: string };
      values[i] = o.int !== undefined ? BigInt(o.int) : fromHex(o.blob ?? "");
    }
  }
  return values;
}

/** The values of one jsonRow cell. */
export function readJsonRow(cell: unknown): unknown[] {
  return unwrapJsonRow(JSON.parse(String(cell)) as unknown[]);
}
