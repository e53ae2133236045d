import { describe, expect, it } from "vitest";
import { openTestDatabase } from "../../support/database.ts";
import { startRunner } from "../../support/server.ts";

/** The viewer's fair-share page, served by a real `runner web` over a database with a family, a weight and a window. */
describe("the fair-share page", { timeout: 120_000 }, () => {
  it("shows each agent's weight, shares and advice with its reasons, and each window with its projection, linked from every page", async () => {
    const db = await openTestDatabase();
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    await db.client.batch(
      [
        { sql: "INSERT INTO claude_identities (name, first_seen, last_seen, weight, paused_until) VALUES ('Heavy-Agent', ?, ?, 2, NULL), ('Light-<b>Agent', ?, ?, 1, ?)", args: [at(120), at(5), at(120), at(5), new Date(now + 3_600_000).toISOString()] },
        ...[100, 80, 60, 40, 20].flatMap((m) => [
          { sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval) VALUES ('Heavy-Agent', ?, 'autonomy', 90000, 1200)", args: [at(m)] },
          { sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval) VALUES ('Light-<b>Agent', ?, 'autonomy', 30000, 1200)", args: [at(m)] },
        ]),
        { sql: "INSERT INTO quota_observations (observed_at, window, used_percentage, resets_at, source, received_at) VALUES (?, 'seven_day', 63, ?, 'scraper', ?)", args: [at(3), new Date(now + 3 * 86_400_000).toISOString(), at(3)] },
      ],
      "write",
    );
    const viewer = await startRunner("web", { DATABASE_URL: `file:${db.path}` });
    const res = await fetch(`${viewer.url}/fair-share`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>Fair share</h1>");
    expect(html).toMatch(/Heavy-Agent<\/td><td class="num">2<\/td><td class="num">100.0%<\/td>/);
    // A name is escaped, and a paused agent says until when.
    expect(html).toContain("Light-&lt;b&gt;Agent (paused until");
    expect(html).not.toContain("Light-<b>Agent");
    expect(html).toMatch(/seven_day<\/td><td class="num">63%<\/td>/);
    expect(html).toContain("the target is 90%");
    expect(html).toMatch(/\d+ s<\/td><td>(good|medium|high|critical|paused)<\/td>/);
    const dashboard = await (await fetch(`${viewer.url}/`)).text();
    expect(dashboard).toContain('<a href="/fair-share">Fair share</a>');
  });
});
