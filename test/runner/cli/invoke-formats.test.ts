import { beforeAll, describe, expect, it } from "vitest";
import type { ReportOutput } from "../../../functions/history/report.ts";
import { openDatabase } from "../../../runner/platform/libsql-client.ts";
import { migrate } from "../../../shared/migrations.ts";
import { sharedTempDir } from "../../support/database.ts";
import { DST_ZONE, seedDstMonth } from "../../support/dst-month.ts";
import { insertIncrements } from "../../support/increments.ts";
import { runRunner } from "../../support/server.ts";

/** `runner invoke report ... --format F` as a person runs it, its output parsed back and compared with the JSON. */

// A name with everything the formats must escape: a comma and quotes (CSV), a pipe (Markdown), a formula start.
const AWKWARD = '=Comma, "Quoted" | Pipe';
const INPUT = '{"period":"month","of":"2026-10-01"}';

/** RFC 4180, as a spreadsheet reads it: quoted fields may hold commas, quotes (doubled) and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field), rows.push(row), (row = []), (field = ""), i++;
    } else field += ch;
  }
  if (field !== "" || row.length > 0) row.push(field), rows.push(row);
  return rows;
}

/** The cells of a Markdown table's row; `\|` is a pipe inside a cell. */
const markdownCells = (line: string) => line.slice(2, -2).split(/ (?<!\\)\| /).map((c) => c.replace(/\\\|/g, "|").replace(/\\\\/g, "\\"));

describe("runner invoke report --format", { timeout: 60_000 }, () => {
  let env: Record<string, string>;
  let json: ReportOutput;
  const { dir, remove } = sharedTempDir();

  beforeAll(async () => {
    const path = `${dir}/formats.db`;
    const db = await openDatabase({ url: `file:${path}` });
    await migrate(db.client);
    await seedDstMonth(db.db);
    await insertIncrements(db.db, [{ claude_name: AWKWARD, timestamp: "2026-10-10T10:00:00.000Z", mode: "collaboration", cache_read_increment: 4321, cost_delta: 0.5 }]);
    db.close();
    env = { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: DST_ZONE };
    const run = await runRunner(["invoke", "report", INPUT], env);
    expect(run.code).toBe(0);
    json = JSON.parse(run.stdout);
    return remove;
  }, 60_000);

  it("prints JSON unless told, and the same figures as CSV: one row per agent and one for the family", async () => {
    const run = await runRunner(["invoke", "report", INPUT, "--format", "csv"], env);
    expect(run.code).toBe(0);
    const [header, ...rows] = parseCsv(run.stdout);
    const at = (row: string[], col: string) => row[header!.indexOf(col)]!;
    expect(rows.map((r) => at(r, "claude_name"))).toEqual([...json.agents.map((a) => (a.claude_name === AWKWARD ? `'${AWKWARD}` : a.claude_name)), ""]);
    for (const a of json.agents) {
      const row = rows.find((r) => at(r, "claude_name").replace(/^'=/, "=") === a.claude_name)!;
      expect(Number(at(row, "autonomous_tokens"))).toBe(a.autonomous_tokens);
      expect(Number(at(row, "collaborative_tokens"))).toBe(a.collaborative_tokens);
      expect(Number(at(row, "total_cost"))).toBeCloseTo(a.total_cost, 6);
      expect(Number(at(row, "days_active"))).toBe(a.days_active);
      expect(at(row, "busiest_hours")).toBe(a.busiest_hours.map((h) => h.hour).join(" "));
      expect(at(row, "share_ratio")).toBe(a.share_ratio === null ? "" : String(a.share_ratio));
      expect(Number(at(row, "jain_index"))).toBe(json.jain_index);
    }
    const family = rows.at(-1)!;
    expect(Number(at(family, "total_tokens"))).toBe(json.family.total_tokens);
    expect(Number(at(family, "previous_total_tokens"))).toBe(json.family.previous.total_tokens);
  });

  it("prints Markdown whose table holds the same figures, names escaped", async () => {
    const run = await runRunner(["invoke", "report", INPUT, "--format=markdown"], env);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`# Usage month 2026-10 (2026-10-01 to 2026-10-31, ${DST_ZONE})`);
    const tableStart = lines.findIndex((l) => l.startsWith("| agent |"));
    const header = markdownCells(lines[tableStart]!);
    const rows = lines.slice(tableStart + 2).filter((l) => l.startsWith("| ")).map(markdownCells);
    const num = (s: string) => Number(s.replace(/[$,%+]/g, ""));
    for (const a of json.agents) {
      const row = rows.find((r) => r[0] === a.claude_name)!;
      expect(row, a.claude_name).toBeDefined();
      expect(row).toHaveLength(header.length);
      expect(num(row[header.indexOf("total tokens")]!)).toBe(a.total_tokens);
      expect(num(row[header.indexOf("autonomy tokens")]!)).toBe(a.autonomous_tokens);
      expect(row[header.indexOf("total cost")]).toBe(`$${a.total_cost.toFixed(4)}`);
      expect(num(row[header.indexOf("days active")]!)).toBe(a.days_active);
    }
    expect(num(rows.find((r) => r[0] === "**family**")![header.indexOf("total tokens")]!)).toBe(json.family.total_tokens);
    const windows = lines.slice(lines.findIndex((l) => l.startsWith("| window |")) + 2).map(markdownCells);
    expect(windows.map((w) => [w[0], num(w[1]!)])).toEqual(json.windows.map((w) => [w.window, w.peak_percentage]));
  });

  it("refuses a format the handler does not offer, naming --format and the ones it does, before running it", async () => {
    const run = await runRunner(["invoke", "report", INPUT, "--format", "pdf"], { ...env, DATABASE_URL: "file:/nonexistent/dir/never.db" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('report cannot print as "pdf"; it offers "json", "markdown", "csv"');
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "error", error: "invalid_input", issues: [{ field: "--format" }] });
    const other = await runRunner(["invoke", "health", "{}", "--format", "csv"], env);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('health cannot print as "csv"; it offers "json"');
  });

  it("names the formats in --help", async () => {
    const run = await runRunner(["--help"], {});
    expect(run.stdout).toContain("--format json | markdown | csv");
    expect(run.stdout).toContain("invoke NAME ['{json}'] [--format F]");
  });
});
