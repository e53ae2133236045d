import { fdatasync } from "node:fs";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseConfig, type Durability } from "../../../shared/config.ts";
import { openConfigured } from "../../../runner/platform/database.ts";
import { createLogger } from "../../../runner/platform/log.ts";
import { startWebhook, webhookTimeoutMs } from "../../../runner/webhook/start.ts";
import { sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { freeLoopbackPorts } from "../../support/process.ts";

const REPORTS = 5;

/**
 * The webhook in this process on a real database file, with the WAL's
 * fdatasync held until the test lets it run: what is answered before the
 * WAL reaches the disk shows which promise a 200 makes.
 */
async function webhookWithHeldSyncs(durability: Durability) {
  const path = tempDatabasePath();
  const [port] = await freeLoopbackPorts(1);
  const parsed = parseConfig({ DATABASE_URL: `file:${path}`, PORT: String(port), DURABILITY: durability }, () => "UTC");
  if (!parsed.ok) throw new Error(parsed.message);
  const config = parsed.config;
  const database = await openConfigured(config, { busyTimeoutMs: webhookTimeoutMs(config.databaseUrl) });
  const held: (() => void)[] = [];
  let syncs = 0;
  const webhook = await startWebhook(config, database, createLogger("error"), {
    syncWal: (fd, done) => {
      syncs++;
      held.push(() => fdatasync(fd, done));
    },
  });
  onTestFinished(async () => {
    release();
    webhook.server.close();
    await webhook.close();
    database.close();
  });
  const release = () => held.splice(0).forEach((run) => run());
  const url = `http://127.0.0.1:${port}`;
  const answered: number[] = [];
  const post = (n: number) =>
    fetch(`${url}/resource-share/increment`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ claude_name: `Durable-${n}`, cache_read_increment: n, mode: "autonomy" }),
    }).then(async (res) => {
      answered.push(res.status);
      await res.text();
      return res.status;
    });
  const stored = () => sqlite3Rows<{ n: number }>(path, "SELECT count(*) AS n FROM resource_share_increments")[0]!.n;
  const until = async (what: () => boolean) => {
    for (let polls = 0; !what(); polls++) {
      if (polls > 2000) throw new Error(`gave up waiting: stored ${stored()}, syncs held ${held.length}, answered ${answered.length}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  /** A round trip through the same server, answered after anything it had already answered. */
  const roundTrip = () => fetch(`${url}/health`).then((res) => res.text());
  return { post, answered, stored, until, roundTrip, release, syncs: () => syncs, held: () => held.length };
}

describe("DURABILITY", () => {
  it("full: a report is answered 200 only after its commit's WAL sync, and concurrent reports share syncs", async () => {
    const hook = await webhookWithHeldSyncs("full");
    const posts = Array.from({ length: REPORTS }, (_, n) => hook.post(n));
    // Every report is committed while the first sync is held, and none is answered.
    await hook.until(() => hook.stored() === REPORTS && hook.held() > 0);
    await hook.roundTrip();
    expect(hook.answered).toEqual([]);
    // The reports committed while the first sync was held share the next one.
    for (let round = 0; hook.answered.length < REPORTS && round < REPORTS; round++) {
      hook.release();
      await hook.until(() => hook.held() > 0 || hook.answered.length === REPORTS);
    }
    expect(await Promise.all(posts)).toEqual(Array(REPORTS).fill(200));
    expect(hook.syncs()).toBeGreaterThanOrEqual(1);
    expect(hook.syncs()).toBeLessThanOrEqual(2);
  });

  it("normal (the default): a report is answered once committed, the WAL's sync follows behind", async () => {
    const hook = await webhookWithHeldSyncs("normal");
    const statuses = await Promise.all(Array.from({ length: REPORTS }, (_, n) => hook.post(n)));
    expect(statuses).toEqual(Array(REPORTS).fill(200));
    expect(hook.stored()).toBe(REPORTS);
  });
});
