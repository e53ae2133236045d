import { fdatasync, readlinkSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, onTestFinished } from "vitest";
import type { IncrementRow } from "../../../functions/report.ts";
import { storeIncrements } from "../../../functions/store.ts";
import { openFileConnection } from "../../../runner/platform/file-connection.ts";
import { walFlusher } from "../../../runner/webhook/wal-flusher.ts";
import { openTestDatabase, sqlite3Rows } from "../../support/database.ts";

const EVERY_MS = 20;

const row = (n: number): IncrementRow => ({
  claude_name: `Agent-${n % 3}`,
  timestamp: "2026-03-01T10:00:00.000Z",
  mode: "autonomy",
  cache_read_increment: n,
  context_percentage: null,
  cost_delta: null,
  event_id: null,
  received_at: "2026-03-01T10:00:00.000Z",
  host: null,
});

/** The files this process holds open. */
const openFiles = () =>
  readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // closed while listing
    }
  });

/** A writer whose commits drive a flusher, with the real fdatasync counted. */
type Sync = (fd: number, done: (err: Error | null) => void) => void;

async function flushedWriter(sync: Sync = fdatasync) {
  const db = await openTestDatabase();
  const synced: string[] = [];
  const errors: Error[] = [];
  let ended = Promise.resolve();
  const flusher = walFlusher(db.path, {
    everyMs: EVERY_MS,
    onError: (err) => errors.push(err),
    sync: (fd, done) => {
      synced.push(readlinkSync(`/proc/self/fd/${fd}`));
      ended = new Promise((resolve) =>
        sync(fd, (err) => {
          done(err);
          resolve();
        }),
      );
    },
  });
  const writer = openFileConnection(db.path, { busyTimeoutMs: 100, afterCommit: flusher.committed });
  onTestFinished(() => {
    writer.close();
    flusher.close();
  });
  return { path: db.path, writer, flusher, synced, errors, syncEnded: () => ended };
}

describe("the webhook's WAL flusher", () => {
  it("writes the WAL out once for a burst of commits, and not while no one writes", async () => {
    const { path, writer, synced, errors, syncEnded } = await flushedWriter();
    await sleep(3 * EVERY_MS);
    expect(synced).toEqual([]);

    for (let n = 0; n < 50; n++) await storeIncrements(writer, [row(n)]);
    await sleep(EVERY_MS);
    await syncEnded();
    // One sync for the whole burst, of the database's own WAL file.
    expect(synced).toEqual([`${path}-wal`]);

    await sleep(3 * EVERY_MS);
    expect(synced).toHaveLength(1);

    await storeIncrements(writer, [row(50)]);
    await sleep(EVERY_MS);
    await syncEnded();
    expect(synced).toHaveLength(2);
    expect(errors).toEqual([]);
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 51 }]);
  });

  it("reports a failing sync once and goes on storing", async () => {
    const failing: Sync = (_fd, done) => done(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    const { path, writer, synced, errors, syncEnded } = await flushedWriter(failing);
    for (let round = 0; round < 3; round++) {
      await storeIncrements(writer, [row(round)]);
      await sleep(EVERY_MS);
      await syncEnded();
    }
    expect(synced).toHaveLength(3);
    expect(errors.map((e) => e.message)).toEqual(["EIO: i/o error, fdatasync"]);
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 3 }]);
  });

  it("lets go of the WAL file when closed, and syncs nothing after", async () => {
    const { path, writer, flusher, synced, syncEnded } = await flushedWriter();
    await storeIncrements(writer, [row(1)]);
    await sleep(EVERY_MS);
    await syncEnded();
    // SQLite's connections hold the WAL open too; the flusher holds one descriptor more.
    const walDescriptors = () => openFiles().filter((f) => f === `${path}-wal`).length;
    const before = walDescriptors();

    await storeIncrements(writer, [row(2)]); // a flush now due...
    flusher.close(); // ...is dropped
    await sleep(3 * EVERY_MS);
    expect(synced).toHaveLength(1);
    expect(walDescriptors()).toBe(before - 1);
  });
});
