import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { openChromium, skipBrowserTests } from "../../support/browser.ts";
import { sharedTempDir, sqlite3 } from "../../support/database.ts";
import { runInvoke, startRunner, type RunningProcess } from "../../support/server.ts";

const SNEAKY = "<b>Bold-Agent</b>";

describe.skipIf(skipBrowserTests)("the Alerts page in Chromium", { timeout: 120_000 }, () => {
  const dir = sharedTempDir("rs-alerts-viewer-");
  const path = `${dir.dir}/resource_tracking.db`;
  const env = { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC" };
  let viewer: RunningProcess;
  let browser: Awaited<ReturnType<typeof openChromium>>;
  let page: Page;

  beforeAll(async () => {
    // The schema as the service makes it, then alerts as the evaluator records them.
    expect((await runInvoke("health", "{}", env)).code).toBe(0);
    sqlite3(path, `INSERT INTO alerts (rule, subject, state, since, resolved_at, summary, details) VALUES
      ('silent_agent', 'Quiet-Teal', 'firing', '2026-12-05T08:00:00.000Z', NULL, 'Quiet-Teal has not reported for 2.0 h (expected every 10 min)', '{}'),
      ('window_threshold', 'seven_day', 'firing', '2026-12-05T07:00:00.000Z', NULL, 'the seven_day window is at 91%, past 90%', '{}'),
      ('unusual_hour', '${SNEAKY}', 'resolved', '2026-12-04T07:00:00.000Z', '2026-12-04T08:00:00.000Z', '${SNEAKY} used 50k tokens in the last hour', '{}');`);
    viewer = await startRunner("web", env, { stopAfterEach: false });
    browser = await openChromium();
    page = await browser.context.newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await viewer?.kill();
    dir.remove();
  });

  const rows = (table: string) => page.$$eval(`#${table} tbody tr`, (trs) => trs.map((tr) => `${tr.getAttribute("data-state")} ${tr.getAttribute("data-rule")} ${tr.getAttribute("data-subject")}`));

  it("is in the navigation and shows what fires now and the history, names as text", async () => {
    await page.goto(`${viewer.url}/`);
    await page.click("header nav a[href='/alerts']");
    expect(new URL(page.url()).pathname).toBe("/alerts");
    expect(await rows("firing")).toEqual(["firing silent_agent Quiet-Teal", "firing window_threshold seven_day"]);
    expect(await rows("history")).toEqual(["firing silent_agent Quiet-Teal", "firing window_threshold seven_day", `resolved unusual_hour ${SNEAKY}`]);
    expect(await page.locator("#history b").count()).toBe(0);
  });

  it("filters by rule and by agent", async () => {
    await page.goto(`${viewer.url}/alerts`);
    await page.selectOption("select[name=rule]", "window_threshold");
    await page.click("form.filters button");
    expect(await rows("history")).toEqual(["firing window_threshold seven_day"]);
    await page.selectOption("select[name=rule]", "");
    await page.selectOption("select[name=subject]", SNEAKY);
    await page.click("form.filters button");
    expect(await page.locator("#none-firing").textContent()).toBe("Nothing fires for this filter.");
    expect(await rows("history")).toEqual([`resolved unusual_hour ${SNEAKY}`]);
  });

  it("puts a banner on the dashboard while anything fires, and none once all are resolved", async () => {
    await page.goto(`${viewer.url}/`);
    expect(await page.locator("#alert-banner").textContent()).toBe("2 alerts are firing: see what and since when.");
    await page.click("#alert-banner a");
    expect(new URL(page.url()).pathname).toBe("/alerts");
    sqlite3(path, "UPDATE alerts SET state = 'resolved', resolved_at = '2026-12-05T09:00:00.000Z'");
    await page.goto(`${viewer.url}/`);
    expect(await page.locator("#alert-banner").count()).toBe(0);
  });
});
