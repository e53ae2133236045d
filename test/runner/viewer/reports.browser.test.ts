import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../../runner/platform/libsql-client.ts";
import { migrate } from "../../../shared/migrations.ts";
import { downloadText, openChromium, skipBrowserTests } from "../../support/browser.ts";
import { sharedTempDir } from "../../support/database.ts";
import { DST_ZONE, expectedSums, seedDstMonth } from "../../support/dst-month.ts";
import { startRunner, type RunningProcess } from "../../support/server.ts";

/** A4's width less the report's 12 mm margins, in CSS pixels (96 per inch). */
const A4_PRINTABLE_PX = Math.floor(((210 - 2 * 12) / 25.4) * 96);

describe.skipIf(skipBrowserTests)("report pages in Chromium", { timeout: 120_000 }, () => {
  const { dir, remove } = sharedTempDir();
  const path = `${dir}/reports.db`;
  let viewer: RunningProcess;
  let browser: Awaited<ReturnType<typeof openChromium>>;
  let page: Page;

  beforeAll(async () => {
    const db = await openDatabase({ url: `file:${path}` });
    await migrate(db.client);
    await seedDstMonth(db.db);
    db.close();
    viewer = await startRunner("web", { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: DST_ZONE }, { stopAfterEach: false, timeoutMs: 45_000 });
    browser = await openChromium();
    page = await browser.context.newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await viewer?.kill();
    remove();
  });

  const shownAgents = async () =>
    page.$$eval("#report-agents tbody tr[data-agent]", (rows) =>
      rows.map((r) => ({
        agent: r.getAttribute("data-agent")!,
        cells: Object.fromEntries([...r.querySelectorAll("td[data-col]")].map((td) => [td.getAttribute("data-col")!, td.textContent!])),
      })),
    );
  const num = (text: string | undefined) => Number((text ?? "").replace(/[$,%+]/g, ""));

  async function expectFigures(from: string, to: string) {
    const want = expectedSums(path, from, to);
    const shown = await shownAgents();
    for (const e of want) {
      const got = shown.find((r) => r.agent === e.claude_name)!.cells;
      expect(num(got.autonomous_tokens), e.claude_name).toBe(e.a);
      expect(num(got.collaborative_tokens), e.claude_name).toBe(e.c);
      expect(got.total_cost).toBe(`$${(e.ac + e.cc).toFixed(4)}`);
      expect(num(got.days_active)).toBe(e.days);
    }
    // One daily chart per agent in the period, and the hours of the day.
    expect(await page.locator("svg.chart").count()).toBe(shown.length + 1);
  }

  it("is reached from the dashboard, and shows a month's figures as sqlite3 sums them in local time", async () => {
    await page.goto(`${viewer.url}/`);
    await page.locator("#report-links").getByRole("link", { name: "this month" }).click();
    expect(new URL(page.url()).pathname).toBe("/reports/month");
    await page.goto(`${viewer.url}/reports/month?of=2026-10-01`);
    expect(await page.locator("#period-label").textContent()).toBe("2026-10");
    await expectFigures("2026-10-01", "2026-10-31");
  });

  it("steps back and forward a month, and picks a month and a week", async () => {
    await page.goto(`${viewer.url}/reports/month?of=2026-10-01`);
    await page.locator("#previous").click();
    expect(await page.locator("#period-label").textContent()).toBe("2026-09");
    await expectFigures("2026-09-01", "2026-09-30");
    await page.locator("#next").click();
    expect(await page.locator("#period-label").textContent()).toBe("2026-10");

    await page.locator('input[name="of"]').fill("2026-09");
    await page.getByRole("button", { name: "Show" }).click();
    expect(await page.locator("#period-label").textContent()).toBe("2026-09");

    await page.getByRole("link", { name: "Reports" }).click();
    await page.locator('input[name="of"]').fill("2026-10-22");
    await page.getByRole("button", { name: "Show" }).click();
    expect(await page.locator("#period-label").textContent()).toBe("2026-W43");
    await expectFigures("2026-10-19", "2026-10-25");
    await page.locator("#next").click();
    expect(await page.locator("#period-label").textContent()).toBe("2026-W44");
  });

  it("prints without the navigation, the report within A4's width", async () => {
    await page.goto(`${viewer.url}/reports/month?of=2026-10-01`);
    expect(await page.locator("header nav").isVisible()).toBe(true);
    expect(await page.locator("nav.pager").isVisible()).toBe(true);
    await page.emulateMedia({ media: "print" });
    await page.setViewportSize({ width: A4_PRINTABLE_PX, height: 1000 });
    try {
      expect(await page.locator("header nav").isVisible()).toBe(false);
      expect(await page.locator("nav.pager").isVisible()).toBe(false);
      expect(await page.locator("#report-agents").isVisible()).toBe(true);
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(A4_PRINTABLE_PX);
      const pdf = await page.pdf({ preferCSSPageSize: true });
      // The @page size: A4 portrait, 595 x 842 points, in the PDF's own MediaBox.
      const box = /\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(pdf.toString("latin1"))!;
      expect([Math.round(Number(box[1])), Math.round(Number(box[2]))]).toEqual([595, 842]);
    } finally {
      await page.emulateMedia({ media: "screen" });
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });

  it("downloads the report as CSV and Markdown, the figures the page shows", async () => {
    await page.goto(`${viewer.url}/reports/week?of=2026-10-22`);
    const shown = await shownAgents();
    const download = async (name: string) => {
      const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name, exact: true }).click()]);
      return { name: file.suggestedFilename(), text: await downloadText(file) };
    };
    const csv = await download("CSV");
    expect(csv.name).toBe("report_2026-W43.csv");
    const [header, ...rows] = csv.text.trimEnd().split("\r\n").map((l) => l.split(","));
    const col = header!.indexOf("total_tokens");
    for (const r of shown) expect(Number(rows.find((row) => row[header!.indexOf("claude_name")] === r.agent)![col])).toBe(num(r.cells.total_tokens));
    const md = await download("Markdown");
    expect(md.name).toBe("report_2026-W43.md");
    expect(md.text.split("\n")[0]).toBe(`# Usage week 2026-W43 (2026-10-19 to 2026-10-25, ${DST_ZONE})`);
    const refused = await page.request.get(`${viewer.url}/reports/week/export/csv?of=2026-02-30`);
    expect(refused.status()).toBe(400);
    expect(await refused.text()).toBe("Not exported: of: is not a real calendar day\n");
  });

  it("refuses a day that does not exist with the reason, showing the current week instead", async () => {
    const res = await page.goto(`${viewer.url}/reports/week?of=2026-02-30`);
    expect(res?.status()).toBe(400);
    expect(await page.locator("p.error").textContent()).toBe('"of" is not a real calendar day; showing this week.');
  });
});
