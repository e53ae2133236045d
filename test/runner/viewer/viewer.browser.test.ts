import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type TestStore } from "../../support/backends.ts";
import { downloadText, openChromium, skipBrowserTests } from "../../support/browser.ts";
import { startRunner, type RunningProcess } from "../../support/server.ts";
import { AGENTS, noonZone, seedDatabase, XSS_NAME } from "./seed.ts";

const ARTIFACTS = fileURLToPath(new URL("../../../test-results/", import.meta.url));
describe.skipIf(skipBrowserTests)("viewer in Chromium", { timeout: 120_000 }, () => {
  let store: TestStore;
  let viewer: RunningProcess;
  let browser: Awaited<ReturnType<typeof openChromium>>;
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const { zone, shift } = noonZone();

  beforeAll(async () => {
    store = await openStore();
    seedDatabase(store);
    viewer = await startRunner("web", { ...store.env, RESOURCE_SHARE_TZ: zone }, { stopAfterEach: false, timeoutMs: 45_000 });
    browser = await openChromium();
    context = browser.context;
    page = await context.newPage();
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await viewer?.kill();
    await store?.stop();
  });

  const open = async (path_: string) => {
    const res = await page.goto(`${viewer.url}${path_}`);
    expect(res?.status()).toBe(200);
  };

  it("shows every agent on the dashboard with the figures the database holds, and the family's time zone", async () => {
    await open("/");
    expect(await page.locator("#time-zone").textContent()).toBe(zone);
    // Standards mode, not quirks (the page starts with a doctype).
    expect(await page.evaluate("document.compatMode")).toBe("CSS1Compat");
    for (const [key, days] of [["today", 1], ["week", 7], ["month", 30]] as const) {
      const expected = store.rows<{ claude_name: string; a: number; c: number; ac: number; cc: number }>(`SELECT claude_name,
           sum(CASE WHEN mode = 'autonomy' THEN cache_read_increment ELSE 0 END) AS a,
           sum(CASE WHEN mode = 'collaboration' THEN cache_read_increment ELSE 0 END) AS c,
           total(CASE WHEN mode = 'autonomy' THEN cost_delta END) AS ac,
           total(CASE WHEN mode = 'collaboration' THEN cost_delta END) AS cc
         FROM resource_share_increments
         WHERE date(timestamp, '${shift}') >= date('now', '${shift}', '-${days - 1} days')
         GROUP BY claude_name`,
      );
      const shown = await page.$$eval(`#period-${key} tr[data-agent]`, (rows) =>
        rows.map((r) => ({
          agent: r.getAttribute("data-agent")!,
          cells: Object.fromEntries([...r.querySelectorAll("td[data-col]")].map((td) => [td.getAttribute("data-col")!, td.textContent!])),
        })),
      );
      const num = (text: string | undefined) => Number((text ?? "").replace(/[$,%]/g, ""));
      expect(shown.map((r) => r.agent).sort()).toEqual(["", ...AGENTS, "Never-Reported"].sort());
      const family = expected.reduce((s, r) => s + r.a + r.c, 0);
      expect(family).toBeGreaterThan(0);
      for (const name of [...AGENTS, "Never-Reported"]) {
        const want = expected.find((r) => r.claude_name === name) ?? { a: 0, c: 0, ac: 0, cc: 0 };
        const got = shown.find((r) => r.agent === name)!.cells;
        expect(num(got.autonomous_tokens), `${key} ${name}`).toBe(want.a);
        expect(num(got.collaborative_tokens)).toBe(want.c);
        expect(num(got.total_tokens)).toBe(want.a + want.c);
        expect(got.autonomous_cost).toBe(`$${want.ac.toFixed(4)}`);
        expect(got.collaborative_cost).toBe(`$${want.cc.toFixed(4)}`);
        expect(got.share).toBe(`${((100 * (want.a + want.c)) / family).toFixed(1)}%`);
      }
      expect(num(shown.find((r) => r.agent === "")!.cells.total_tokens)).toBe(family);
    }
    const lastReport = async (name: string) =>
      page.locator("#agents tr[data-agent]").filter({ has: page.getByText(name, { exact: true }) }).locator("td").nth(1).textContent();
    expect(await lastReport("Quiet-Blue")).toMatch(/silent for 3 hours/);
    expect(await lastReport("Sparkle-Orange")).not.toMatch(/silent/);
    expect(await lastReport("Never-Reported")).toBe("no reports yet");
    expect(await page.locator("svg.chart").count()).toBe(AGENTS.length + 1 + 1);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
  });

  it("renders an agent named like an HTML tag as text, and no script runs", async () => {
    await open("/");
    await expect(page.getByText(XSS_NAME, { exact: true }).first().isVisible()).resolves.toBe(true);
    expect(await page.locator("img").count()).toBe(0);
    await page.goto(`${viewer.url}/tables/claude_identities`);
    expect(await page.locator("#rows").textContent()).toContain(XSS_NAME);
    expect(await page.locator("img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("pages, sorts and filters a table, and downloads the filtered view as CSV and JSON", async () => {
    await open("/tables/resource_share_increments?size=25");
    const total = store.rows<{ n: number }>("SELECT count(*) AS n FROM resource_share_increments")[0]!.n;
    expect(await page.locator("#page-of").textContent()).toBe(`Page 1 of ${Math.ceil(total / 25)}`);
    const firstIds = async () => (await page.locator("#rows tbody tr td:first-child").allTextContents()).map(Number);

    await page.getByRole("link", { name: "Next ›" }).click();
    expect(await page.locator("#page-of").textContent()).toBe(`Page 2 of ${Math.ceil(total / 25)}`);
    expect(await firstIds()).toEqual(store.rows<{ id: number }>("SELECT id FROM resource_share_increments ORDER BY id DESC LIMIT 25 OFFSET 25").map((r) => r.id));

    await page.getByRole("link", { name: "cache_read_increment" }).click();
    expect(await firstIds()).toEqual(
      store.rows<{ id: number }>("SELECT id FROM resource_share_increments ORDER BY cache_read_increment, id LIMIT 25").map((r) => r.id),
    );
    await page.getByRole("link", { name: "cache_read_increment ▲" }).click();
    expect(await firstIds()).toEqual(
      store.rows<{ id: number }>("SELECT id FROM resource_share_increments ORDER BY cache_read_increment DESC, id DESC LIMIT 25").map((r) => r.id),
    );

    const from = store.rows<{ d: string }>(`SELECT date('now', '${shift}', '-9 days') AS d`)[0]!.d;
    await page.getByLabel("Agent").fill("Quiet-Blue");
    await page.getByLabel("Mode").selectOption("collaboration");
    await page.getByLabel("From day").fill(from);
    await page.getByRole("button", { name: "Apply" }).click();
    const expected = store.rows<{ n: number }>(`SELECT count(*) AS n FROM resource_share_increments
       WHERE claude_name = 'Quiet-Blue' AND mode = 'collaboration' AND date(timestamp, '${shift}') >= '${from}'`,
    )[0]!.n;
    expect(expected).toBeGreaterThan(0);
    expect(await page.locator("#matching").textContent()).toBe(String(expected));
    expect(new Set(await page.locator("#rows tbody tr td:nth-child(2)").allTextContents())).toEqual(new Set(["Quiet-Blue"]));

    const download = async (name: string) => {
      const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name, exact: true }).first().click()]);
      return await downloadText(file);
    };
    const csv = (await download("CSV")).trimEnd().split("\r\n");
    expect(csv[0]!.split(",").slice(0, 3)).toEqual(["id", "claude_name", "timestamp"]);
    expect(csv.length - 1).toBe(expected);
    const json = JSON.parse(await download("JSON")) as { claude_name: string; cache_read_increment: number }[];
    expect(json).toHaveLength(expected);
    expect(json.every((r) => r.claude_name === "Quiet-Blue")).toBe(true);
    // The export keeps the view's order: by size, largest first.
    const sizes = json.map((r) => r.cache_read_increment);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
  });

  it("downloads the daily summaries with one row per agent and day", async () => {
    await open("/daily");
    const expected = store.rows<{ n: number }>(`SELECT count(*) AS n FROM (SELECT DISTINCT claude_name, date(timestamp, '${shift}') FROM resource_share_increments
       WHERE date(timestamp, '${shift}') >= date('now', '${shift}', '-6 days'))`,
    )[0]!.n;
    expect(await page.locator("#matching").textContent()).toBe(String(expected));
    const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "JSON", exact: true }).click()]);
    expect(JSON.parse(await downloadText(file))).toHaveLength(expected);
  });

  it("runs a read-only query in the SQL console and refuses DELETE, changing nothing", async () => {
    await open("/query");
    const count = () => store.rows<{ n: number }>("SELECT count(*) AS n FROM resource_share_increments")[0]!.n;
    const before = count();
    await page.getByLabel("SQL").fill("SELECT claude_name, count(*) AS n FROM resource_share_increments GROUP BY claude_name ORDER BY claude_name");
    await page.getByRole("button", { name: "Run" }).click();
    const rows = await page.locator("#result tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(rows).toEqual(
      store.rows<{ claude_name: string; n: number }>("SELECT claude_name, count(*) AS n FROM resource_share_increments GROUP BY claude_name ORDER BY claude_name")
        .map((r) => [r.claude_name, String(r.n)]),
    );
    await page.getByLabel("SQL").fill("DELETE FROM resource_share_increments");
    await page.getByRole("button", { name: "Run" }).click();
    expect(await page.locator("#query-error").textContent()).toMatch(/is read-only: DELETE statements are refused/);
    expect(count()).toBe(before);
    expect(dialogs).toEqual([]);
  });
});
