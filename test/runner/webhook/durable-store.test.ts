import { existsSync, statSync } from "node:fs";
import { describe, expect, it, onTestFinished } from "vitest";
import type { IncrementRow } from "../../../functions/report.ts";
import type { Writes } from "../../../functions/store.ts";
import { durableStore } from "../../../runner/webhook/durable-store.ts";
import { openFileConnection } from "../../../runner/platform/file-connection.ts";
import { createLogger } from "../../../runner/platform/log.ts";
import { Spool } from "../../../runner/webhook/spool.ts";
import { holdWriteLock, openTestDatabase, sqlite3Rows } from "../../support/database.ts";

const report: IncrementRow = {
  claude_name: "Spooled-Agent",
  timestamp: "2026-11-28T10:00:00.000Z",
  mode: "autonomy",
  cache_read_increment: 42,
  context_percentage: null,
  cost_delta: null,
  event_id: null,
  received_at: "2026-11-28T10:00:00.000Z",
  host: null,
};

const quiet = () => createLogger("error", { withTime: false, out: { write: () => true } as unknown as NodeJS.WritableStream });

describe("the durable store's spool loop", () => {
  it("stops when asked, leaves what it has not applied in the spool, and the next start applies it once", async () => {
    const db = await openTestDatabase();
    const writer = openFileConnection(db.path, { busyTimeoutMs: 20 });
    onTestFinished(() => writer.close());
    // The loop's attempts on the connection, counted.
    let attempts = 0;
    const counted: Writes = {
      protocol: "file",
      execute: (statement) => writer.execute(statement),
      batch: (statements, mode) => {
        attempts++;
        return writer.batch(statements, mode);
      },
    };
    const spoolPath = `${db.path}.spool`;
    const spool = new Spool(spoolPath);
    spool.load();
    const store = durableStore(counted, spool, quiet());

    const lock = await holdWriteLock(db.path);
    expect(await store.store([report])).toBe("spooled");
    await expect.poll(() => attempts).toBeGreaterThan(2); // retrying while the lock is held
    await store.stop();
    const atStop = attempts;
    await lock.release();
    // Longer than the loop's longest wait between attempts (1 s): a loop still running would have applied the report.
    await new Promise((done) => setTimeout(done, 1500));
    expect(attempts).toBe(atStop);
    expect(sqlite3Rows(db.path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 0 }]);
    expect(existsSync(`${spoolPath}.refused`)).toBe(false);
    await spool.close();

    // The next start.
    const again = new Spool(spoolPath);
    expect(again.load()).toEqual({ unreadable: 0 });
    expect(again.backlog).toBe(1);
    const next = durableStore(writer, again, quiet());
    next.resume();
    await expect.poll(() => again.busy).toBe(false);
    await next.stop();
    await again.close();
    expect(sqlite3Rows(db.path, "SELECT claude_name, cache_read_increment FROM resource_share_increments")).toEqual([
      { claude_name: "Spooled-Agent", cache_read_increment: 42 },
    ]);
  });

  it("empties the spool only once the rows it applied are on the disk (the WAL synced)", async () => {
    const db = await openTestDatabase();
    const writer = openFileConnection(db.path, { busyTimeoutMs: 20 });
    onTestFinished(() => writer.close());
    const spoolPath = `${db.path}.spool`;
    const spool = new Spool(spoolPath);
    spool.load();
    let syncs = 0;
    let letSyncEnd = () => {};
    const store = durableStore(writer, spool, quiet(), { beforeEmptying: () => {
      syncs++;
      return new Promise<void>((done) => (letSyncEnd = done));
    } });
    onTestFinished(async () => {
      letSyncEnd();
      await store.stop();
      await spool.close();
    });

    const lock = await holdWriteLock(db.path);
    expect(await store.store([report])).toBe("spooled");
    await lock.release();
    // Applied to the database, but the sync has not ended: the spool keeps its copy.
    await expect.poll(() => sqlite3Rows(db.path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 1 }]);
    await expect.poll(() => syncs).toBe(1);
    expect(statSync(spoolPath).size).toBeGreaterThan(0);
    letSyncEnd();
    await expect.poll(() => statSync(spoolPath).size).toBe(0);
  });
});
