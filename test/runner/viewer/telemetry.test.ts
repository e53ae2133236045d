import { describe, expect, it } from "vitest";
import { runHandler } from "../../../runner/platform/run-handler.ts";
import { viewerAt } from "../../support/apps.ts";
import { testContext } from "../../support/context.ts";
import { openTestDatabase } from "../../support/database.ts";
import { costMetric, ns, otlpExport, tokenMetric } from "../../support/otlp.ts";

const NOW = new Date("2026-12-05T12:00:00Z");

/** The viewer's Telemetry page over a database whose nightly job compared a day (the in-process viewer: the page has no script). */
describe("the telemetry page", () => {
  it("lists the days that disagree beyond the margin, with both sources' figures, and is linked from every page", async () => {
    const db = await openTestDatabase();
    const ctx = testContext(db.db, { now: NOW });
    await db.db.batch(
      [
        "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta) VALUES ('Apart-<b>', '2026-12-04T10:00:00Z', 'autonomy', 10000, 1.0)",
        "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta) VALUES ('Agrees', '2026-12-04T10:00:00Z', 'autonomy', 10000, 1.0)",
      ],
      "write",
    );
    const time = ns(Date.parse("2026-12-04T10:05:00Z"));
    for (const [agent, cacheRead] of [["Apart-<b>", 13_000], ["Agrees", 10_000]] as const) {
      const body = otlpExport(agent, [tokenMetric(1, [{ time, value: cacheRead, type: "cacheRead" }]), costMetric(1, [{ time, value: 1.0 }])]);
      expect(await runHandler("recordMetrics", body, ctx)).toEqual({ ok: true, value: {} });
    }

    const viewer = await viewerAt(db.path, NOW);
    const before = await (await viewer.app.request("/telemetry")).text();
    expect(before).toContain("No day has been compared yet");

    expect(await runHandler("aggregateDay", { date: "2026-12-04" }, ctx)).toMatchObject({ ok: true, value: { telemetry: { compared: 2, disagreeing: 1 } } });
    const res = await viewer.app.request("/telemetry");
    expect(res.status).toBe(200);
    const html = await res.text();
    viewer.close();
    expect(html).toContain("<h1>Telemetry against the reports</h1>");
    expect(html).toContain("2 agent day(s) of 2 agent(s) compared");
    const table = html.slice(html.indexOf('<table id="telemetry-disagreements">'));
    expect(table).toContain(
      '<td>2026-12-04</td><td>Apart-&lt;b&gt;</td><td class="num">10,000</td><td class="num">13,000</td><td class="num">23.1%</td><td class="num">$1.0000</td><td class="num">$1.0000</td><td class="num">0.0%</td><td class="num">5%</td>',
    );
    expect(table).not.toContain("Agrees");
    expect(html).toContain('<a href="/telemetry">Telemetry</a>');
  });
});
