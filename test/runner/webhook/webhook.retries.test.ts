import { describe, expect, it } from "vitest";
import { webhookApp } from "../../support/apps.ts";
import { report } from "../../support/clients.ts";
import { sqlite3, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";

const count = (path: string, where = "1") =>
  sqlite3Rows<{ n: number }>(path, `SELECT count(*) AS n FROM resource_share_increments WHERE ${where}`)[0]!.n;

describe("clients that retry", () => {
  it("stores a report re-posted with the same event id once, concurrently and one after another", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const url = "/resource-share/increment";
    const same = report("Retry-Agent", { event_id: "timer-42" });
    const together = await Promise.all(Array.from({ length: 20 }, () => webhook.post(url, same)));
    expect(together.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(together.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    const byHeader = { ...same };
    delete byHeader.event_id;
    for (let i = 0; i < 5; i++) {
      const again = i % 2 ? await webhook.post(url, same) : await webhook.post(url, byHeader, { "Idempotency-Key": "timer-42" });
      expect(again.status).toBe(200);
      expect(again.body.duplicate).toBe(true);
      expect(again.body.id).toBe(together[0]!.body.id);
    }
    expect(count(path)).toBe(1);
    await webhook.close();
  });

  it("stores nothing of a batch that fails part-way, and everything once when it is retried", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const url = "/resource-share/increments";
    const batch = Array.from({ length: 5 }, (_, i) => report("Batch-Agent", { event_id: `b-${i + 1}` }));
    // The database itself refuses the third row, after the first two were written in the transaction.
    sqlite3(path, `CREATE TRIGGER refuse_b3 BEFORE INSERT ON resource_share_increments WHEN NEW.event_id = 'b-3'
      BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;`);
    const failed = await webhook.post(url, batch);
    expect(failed.status).not.toBe(200);
    expect(JSON.stringify(failed.body)).not.toMatch(/at .*\.ts|refuse_b3|b-3/); // no stack trace, no echo
    expect(count(path)).toBe(0);

    sqlite3(path, "DROP TRIGGER refuse_b3");
    const retried = await webhook.post(url, batch);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ stored: 5, duplicates: 0 });
    const again = await webhook.post(url, batch);
    expect(again.body).toMatchObject({ stored: 0, duplicates: 5 });
    expect(sqlite3Rows(path, "SELECT event_id, cache_read_increment FROM resource_share_increments ORDER BY id")).toEqual(
      batch.map((r) => ({ event_id: r.event_id, cache_read_increment: r.cache_read_increment })),
    );
    await webhook.close();
  });
});
