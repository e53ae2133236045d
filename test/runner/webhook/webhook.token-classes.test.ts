import { describe, expect, it } from "vitest";
import { webhookApp } from "../../support/apps.ts";
import { sqlite3Rows, tempDatabasePath } from "../../support/database.ts";

/** The webhook's app in process, built as `runner serve` builds it, over a fresh file read back with sqlite3. */

const base = { claude_name: "Sparkle-Orange", mode: "autonomy", cache_read_increment: 30 };
const classes = { input_tokens: 12, output_tokens: 340, cache_creation_tokens: 5000, cache_read_tokens: 30, model: "claude-sonnet-4-5-20250929" };

describe("token classes and the model in a report", () => {
  it("stores the four token classes and the model in their own columns, and leaves them NULL for the timers' reports", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    expect((await webhook.post("/resource-share/increment", { ...base, ...classes, cost_delta: 0.0123 })).status).toBe(200);
    expect((await webhook.post("/resource-share/increments", [{ ...base, ...classes, event_id: "m-1" }])).status).toBe(200);
    expect((await webhook.post("/resource-share/increment", base)).status).toBe(200);
    await webhook.close();
    expect(
      sqlite3Rows(path, "SELECT cache_read_increment, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, model FROM resource_share_increments ORDER BY id"),
    ).toEqual([
      { cache_read_increment: 30, ...classes },
      { cache_read_increment: 30, ...classes },
      { cache_read_increment: 30, input_tokens: null, output_tokens: null, cache_creation_tokens: null, cache_read_tokens: null, model: null },
    ]);
  });

  it("answers a bad token class or model with 400 naming the field, and stores nothing", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const refused: [Record<string, unknown>, string][] = [
      [{ input_tokens: -1 }, "input_tokens"],
      [{ output_tokens: 1.5 }, "output_tokens"],
      [{ cache_creation_tokens: "10" }, "cache_creation_tokens"],
      [{ cache_read_tokens: 2 ** 53 }, "cache_read_tokens"],
      [{ model: "" }, "model"],
      [{ model: "x".repeat(101) }, "model"],
      [{ model: "claude\u0000" }, "model"],
      [{ model: 4 }, "model"],
    ];
    for (const [bad, field] of refused) {
      const one = await webhook.post("/resource-share/increment", { ...base, ...classes, ...bad });
      expect([field, one.status]).toEqual([field, 400]);
      expect(one.body.issues.map((i: { field: string }) => i.field)).toEqual([field]);
      const batch = await webhook.post("/resource-share/increments", [{ ...base, event_id: "ok" }, { ...base, ...bad, event_id: "bad" }]);
      expect([field, batch.status]).toEqual([field, 400]);
      expect(batch.body.issues.map((i: { field: string }) => i.field)).toEqual([`[1].${field}`]);
    }
    await webhook.close();
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 0 }]);
  });
});
