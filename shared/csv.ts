/** Text a spreadsheet would run as a formula: OWASP's list for CSV injection. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field, RFC 4180: quoted when it holds a separator, a quote or a
 * line break. Text a spreadsheet would run as a formula (an agent named
 * "=HYPERLINK(...)") is defused as OWASP advises: a leading single quote,
 * and the field quoted. Numbers, negative ones included, stay numbers; null
 * is an empty field.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  const text = String(value);
  if (FORMULA_START.test(text)) return `"'${text.replace(/"/g, '""')}"`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
