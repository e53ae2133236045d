import { describe, expect, it } from "vitest";
import { acknowledged, post, postUntil, report, type Posted } from "../../support/clients.ts";
import { holdWriteLock, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { startRunner } from "../../support/server.ts";

/** Bounds, not times: how long the test waits for the webhook to show each behaviour before it fails. */
const WAIT_MS = 60_000;

const queued = (a: Posted) => a.status === 200 && (a.body.queued === true || a.body.results?.[0]?.queued === true);
const direct = (a: Posted) => a.status === 200 && !queued(a);

async function health(base: string): Promise<any> {
  return (await fetch(`${base}/health`)).json();
}

/** Rows per distinct token count: each acknowledged report must appear exactly once. */
function countsByTokens(path: string): Map<number, number> {
  const rows = sqlite3Rows<{ t: number; n: number }>(path, "SELECT cache_read_increment AS t, count(*) AS n FROM resource_share_increments GROUP BY t");
  return new Map(rows.map((r) => [r.t, r.n]));
}

describe("webhook while sqlite3 holds the write lock", () => {
  it("answers every post 200 in time, stores each report once after the lock, and writes directly again", async () => {
    const path = tempDatabasePath();
    const server = await startRunner("serve", { DATABASE_URL: `file:${path}` });
    const first = await post(`${server.url}/resource-share/increment`, report("Lock-Test-warmup"));
    expect(first.status).toBe(200);
    expect(typeof first.body.id).toBe("number");

    const viewer = await startRunner("web", { DATABASE_URL: `file:${path}` }, { timeoutMs: 45_000 });

    const lock = await holdWriteLock(path);
    let locked = true;
    let stop = false;
    const backlogSeen: number[] = [];
    const viewerAnswers: number[] = [];
    // What the alerts read: since when reports wait, since when writes are refused.
    const sinceSeen: { since: string | null; refused_since: string | null }[] = [];
    const watcher = (async () => {
      while (!stop) {
        const h = await health(server.url);
        if (locked) {
          backlogSeen.push(h.spool.backlog);
          if (h.spool.backlog > 0) sinceSeen.push({ since: h.spool.since, refused_since: h.spool.refused_since });
          // The viewer keeps serving reads while the webhook spools.
          for (const page of ["/", "/tables/resource_share_increments"]) viewerAnswers.push((await fetch(`${viewer.url}${page}`)).status);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const live: Posted[] = [];
    const clients = postUntil(server.url, { clients: 4, until: () => stop, all: live });
    // The lock is held until the webhook has shown what it does meanwhile: many
    // reports answered from the spool, a backlog that grows in /health over
    // several looks (the spool's retries find the lock still held), and the
    // viewer's pages answered.
    await expect
      .poll(() => {
        const backlogs = backlogSeen.filter((b) => b > 0);
        return live.filter(queued).length >= 40 && backlogs.length >= 5 && Math.max(...backlogs) > backlogs[0]! && viewerAnswers.length >= 2;
      }, { timeout: WAIT_MS, interval: 100 })
      .toBe(true);
    locked = false;
    await lock.release();
    // Keep posting through the hand-over from spool back to direct writes, until answers come straight from the table again.
    const released = live.length;
    await expect.poll(() => live.slice(released).filter(direct).length, { timeout: WAIT_MS, interval: 100 }).toBeGreaterThanOrEqual(8);
    stop = true;
    const attempts = await clients;
    await watcher;

    const failures = attempts.filter((a) => a.status !== 200);
    expect(failures.map((f) => `${f.status} ${JSON.stringify(f.body)}`)).toEqual([]);
    const slowest = Math.max(...attempts.map((a) => a.ms));
    console.log(`lock test: ${attempts.length} posts, ${acknowledged(attempts).length} reports acknowledged, slowest answer ${slowest.toFixed(0)} ms, largest backlog seen ${Math.max(...backlogSeen)}`);
    expect(attempts.some((a) => a.body.queued === true || a.body.results?.[0]?.queued === true)).toBe(true);
    expect(Math.max(...backlogSeen)).toBeGreaterThan(0);
    // How many pages fit in the lock depends on the machine's load: one is proof enough.
    expect(viewerAnswers.length).toBeGreaterThan(0);
    expect(viewerAnswers.filter((status) => status !== 200)).toEqual([]);

    // The spool drains by itself once the lock is gone.
    for (let i = 0; i < 100 && (await health(server.url)).spool.backlog > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await health(server.url)).spool).toMatchObject({ mode: "direct", backlog: 0, since: null, refused_since: null });
    // While it spooled, both instants were told, and stayed put (the oldest report, the first refusal).
    expect(sinceSeen.length).toBeGreaterThan(0);
    expect(new Set(sinceSeen.map((s) => s.since)).size).toBe(1);
    expect(new Set(sinceSeen.map((s) => s.refused_since)).size).toBe(1);
    expect(sinceSeen[0]!.since).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(sinceSeen[0]!.refused_since).toMatch(/^\d{4}-\d{2}-\d{2}T/);

    const counts = countsByTokens(path);
    const acked = acknowledged(attempts);
    expect(acked.filter((r) => counts.get(r.cache_read_increment as number) !== 1)).toEqual([]);
    const total = sqlite3Rows<{ n: number }>(path, "SELECT count(*) AS n FROM resource_share_increments")[0]!.n;
    expect(total).toBe(acked.length + 1);

    // The same process writes straight to the table again (the busy-recovery path works).
    const after = await post(`${server.url}/resource-share/increment`, report("Lock-Test-after"));
    expect(after.status).toBe(200);
    expect(after.body.queued).toBeUndefined();
    expect(sqlite3Rows(path, `SELECT id FROM resource_share_increments WHERE id = ${Number(after.body.id)}`)).toHaveLength(1);
    const batch = await post(`${server.url}/resource-share/increments`, [report("Lock-Test-after"), report("Lock-Test-after")]);
    expect(batch.status).toBe(200);
    expect(batch.body.results.map((r: any) => typeof r.id)).toEqual(["number", "number"]);
    expect(await server.stop()).toBe(0);
    expect(await viewer.stop()).toBe(0);
  }, 120_000);
});
