import { describe, expect, it } from "vitest";
import { sqlite3Rows, tempDatabasePath } from "../support/database.ts";
import { postJson, startRunner } from "../support/server.ts";

describe("webhook process", () => {
  it("stores a report posted by the first-generation client and shows it to sqlite3", async () => {
    const path = tempDatabasePath();
    const server = await startRunner("serve", { DATABASE_URL: `file:${path}` });
    const res = await postJson(`${server.url}/resource-share/increment`, {
      claude_name: "Sparkle-Orange",
      cache_read_increment: 1234,
      mode: "autonomy",
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "success", claude_name: "Sparkle-Orange", tokens_recorded: 1234 });
    const rows = sqlite3Rows(path, "SELECT id, claude_name, mode, cache_read_increment FROM resource_share_increments");
    expect(rows).toEqual([{ id: res.json.id, claude_name: "Sparkle-Orange", mode: "autonomy", cache_read_increment: 1234 }]);
    expect(await server.stop()).toBe(0);
  });
});
