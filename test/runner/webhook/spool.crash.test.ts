import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { acknowledged, postUntil, untilAcknowledged, type Posted } from "../../support/clients.ts";
import { holdWriteLock, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { startRunner } from "../../support/server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many times each acknowledged report is in the table (found by its distinct token count). */
function timesStored(path: string, attempts: Posted[]): { acked: number; stored: number; notOnce: unknown[] } {
  const rows = sqlite3Rows<{ t: number; n: number }>(path, "SELECT cache_read_increment AS t, count(*) AS n FROM resource_share_increments GROUP BY t");
  const counts = new Map(rows.map((r) => [r.t, r.n]));
  const acked = acknowledged(attempts);
  const notOnce = acked.filter((r) => counts.get(r.cache_read_increment as number) !== 1).map((r) => ({ ...r, times: counts.get(r.cache_read_increment as number) ?? 0 }));
  return { acked: acked.length, stored: acked.length - notOnce.length, notOnce };
}

async function waitForEmptySpool(base: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const h = (await (await fetch(`${base}/health`)).json()) as any;
    if (h.spool?.backlog === 0 && h.spool.mode === "direct") return;
    await sleep(100);
  }
  throw new Error("the spool did not drain within 10 s");
}

describe("webhook killed with SIGKILL", () => {
  it("keeps every acknowledged report exactly once when killed mid-traffic", async () => {
    const path = tempDatabasePath();
    const env = { DATABASE_URL: `file:${path}` };
    const server = await startRunner("serve", env);
    let stop = false;
    const live: Posted[] = [];
    const clients = postUntil(server.url, { clients: 6, until: () => stop, agent: "Crash-Test", pauseMs: 5, all: live });
    await untilAcknowledged(live, 150);
    await server.kill();
    stop = true;
    const attempts = await clients;

    const again = await startRunner("serve", env);
    const result = timesStored(path, attempts);
    console.log(`crash test (direct writes): ${attempts.length} posts, ${result.acked} reports acknowledged, ${result.stored} of them stored exactly once`);
    expect(result.acked).toBeGreaterThanOrEqual(150);
    expect(result.notOnce).toEqual([]);
    expect(attempts.some((a) => a.status !== 200)).toBe(true); // the kill did cut requests off
    expect(await again.stop()).toBe(0);
  });

  it("applies reports that waited in the spool exactly once at the next start, even if the spool is replayed twice", async () => {
    const path = tempDatabasePath();
    const env = { DATABASE_URL: `file:${path}` };
    const server = await startRunner("serve", env);
    const lock = await holdWriteLock(path);
    let stop = false;
    const live: Posted[] = [];
    const clients = postUntil(server.url, { clients: 6, until: () => stop, agent: "Spool-Crash", pauseMs: 5, all: live });
    await untilAcknowledged(live, 150);
    await server.kill();
    stop = true;
    const attempts = await clients;
    await lock.release();
    const spooled = readFileSync(`${path}.spool`, "utf8");
    expect(spooled.length).toBeGreaterThan(0);
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 0 }]);

    const again = await startRunner("serve", env);
    await waitForEmptySpool(again.url);
    const result = timesStored(path, attempts);
    console.log(`crash test (spooled): ${attempts.length} posts, ${result.acked} reports acknowledged, ${result.stored} of them stored exactly once`);
    expect(result.acked).toBeGreaterThanOrEqual(150);
    expect(result.notOnce).toEqual([]);
    const total = sqlite3Rows<{ n: number }>(path, "SELECT count(*) AS n FROM resource_share_increments")[0]!.n;

    // A crash after applying the spool but before emptying it replays it all: nothing is stored twice.
    await again.kill();
    writeFileSync(`${path}.spool`, spooled);
    const third = await startRunner("serve", env);
    await waitForEmptySpool(third.url);
    expect(sqlite3Rows<{ n: number }>(path, "SELECT count(*) AS n FROM resource_share_increments")[0]!.n).toBe(total);
    expect(timesStored(path, attempts).notOnce).toEqual([]);
    expect(await third.stop()).toBe(0);
  });
});
