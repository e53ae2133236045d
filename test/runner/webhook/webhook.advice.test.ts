import { describe, expect, it } from "vitest";
import { webhookApp } from "../../support/apps.ts";
import { holdWriteLock, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";

/**
 * The advice on the webhook's answers, as the agents' timers meet it: the
 * webhook's app in process, built as `runner serve` builds it (spool and
 * all), over a fresh database file.
 */


const BOUNDS = { min: 300, max: 14400 };
const STATUSES = ["good", "medium", "high", "critical", "paused", "unknown"];

function expectAdvice(answer: any): void {
  expect(Number.isInteger(answer.recommended_interval)).toBe(true);
  expect(answer.recommended_interval).toBeGreaterThanOrEqual(BOUNDS.min);
  expect(answer.recommended_interval).toBeLessThanOrEqual(BOUNDS.max);
  for (const key of ["fairness", "five_hour", "weekly", "combined"]) expect(typeof answer.multipliers[key]).toBe("number");
  expect(STATUSES).toContain(answer.quota_status);
  expect(Array.isArray(answer.advice.reasons)).toBe(true);
}

/**
 * The earlier client (design.md): posts, and counts a 200 whose body says
 * "success" as delivered. It reads nothing else.
 */
const earlierClient = (status: number, body: any) => status === 200 && body.status === "success";

/**
 * The later client, as it is written: on a 200, `int(recommended_interval)`
 * if above 0 becomes the next interval (Python's int() truncates), else the
 * current one stays; it logs multipliers.fairness with two decimals and
 * quota_status.
 */
function laterClient(current: number, status: number, body: any): { next: number; logLine: string } {
  if (status !== 200) return { next: current, logLine: `report failed (${status})` };
  const advised = Math.trunc(Number(body.recommended_interval));
  const next = advised > 0 ? advised : current;
  return { next, logLine: `fairness=${Number(body.multipliers.fairness).toFixed(2)} quota=${body.quota_status} next=${next}s` };
}

describe("advice on the webhook's answers", () => {
  it("rides on every 200 of both increment routes and is stored with the report it answered", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const one = await webhook.post("/resource-share/increment", { claude_name: "Advised-One", cache_read_increment: 5000, mode: "autonomy" });
    expect(one.status).toBe(200);
    expectAdvice(one.body);
    expect(one.body).toMatchObject({ status: "success", claude_name: "Advised-One", tokens_recorded: 5000 });

    const batch = await webhook.post("/resource-share/increments", [
      { claude_name: "Advised-One", cache_read_increment: 1, mode: "autonomy", event_id: "b-1" },
      { claude_name: "Advised-Two", cache_read_increment: 2, mode: "collaboration", event_id: "b-2" },
      { claude_name: "Advised-One", cache_read_increment: 3, mode: "autonomy", event_id: "b-3" },
    ]);
    expect(batch.status).toBe(200);
    expect(Object.keys(batch.body.advice_by_agent).sort()).toEqual(["Advised-One", "Advised-Two"]);
    for (const a of Object.values(batch.body.advice_by_agent)) expectAdvice(a);
    // Two agents: no single agent's advice at the top.
    expect(batch.body.recommended_interval).toBeUndefined();

    const single = await webhook.post("/resource-share/increments", [{ claude_name: "Advised-Two", cache_read_increment: 2, mode: "autonomy" }]);
    expectAdvice(single.body);
    expect(single.body.advice_by_agent["Advised-Two"].recommended_interval).toBe(single.body.recommended_interval);

    // The interval each agent was answered with is kept on its last report of the request.
    expect(sqlite3Rows(path, "SELECT claude_name, event_id, recommended_interval FROM resource_share_increments ORDER BY id")).toEqual([
      { claude_name: "Advised-One", event_id: null, recommended_interval: one.body.recommended_interval },
      { claude_name: "Advised-One", event_id: "b-1", recommended_interval: null },
      { claude_name: "Advised-Two", event_id: "b-2", recommended_interval: batch.body.advice_by_agent["Advised-Two"].recommended_interval },
      { claude_name: "Advised-One", event_id: "b-3", recommended_interval: batch.body.advice_by_agent["Advised-One"].recommended_interval },
      { claude_name: "Advised-Two", event_id: null, recommended_interval: single.body.recommended_interval },
    ]);
  });

  it("rides on a spooled report's 200 too, and the interval is stored when the spool is applied", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const url = "/resource-share/increment";
    expect((await webhook.post(url, { claude_name: "Spooled-One", cache_read_increment: 1, mode: "autonomy" })).status).toBe(200);
    const lock = await holdWriteLock(path);
    let spooled;
    try {
      spooled = await webhook.post(url, { claude_name: "Spooled-One", cache_read_increment: 2, mode: "autonomy" });
      expect(spooled.body).toMatchObject({ status: "success", queued: true, id: null });
      expectAdvice(spooled.body);
      const batch = await webhook.post("/resource-share/increments", [{ claude_name: "Spooled-One", cache_read_increment: 3, mode: "autonomy" }]);
      expect(batch.body.results[0]).toMatchObject({ queued: true });
      expectAdvice(batch.body);
    } finally {
      await lock.release();
    }
    await expect.poll(() => sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")[0]).toEqual({ n: 3 });
    expect(sqlite3Rows(path, "SELECT recommended_interval FROM resource_share_increments WHERE cache_read_increment = 2")).toEqual([
      { recommended_interval: spooled.body.recommended_interval },
    ]);
  });

  it("stays readable by both generations of the real client, which follow it within the bounds", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const url = "/resource-share/increment";
    // The earlier client's three payloads of design.md.
    for (const payload of [
      { claude_name: "Client-Old", cache_read_increment: 1234, mode: "autonomy" },
      { claude_name: "Client-Old", cache_read_increment: 4321, mode: "collaboration", context_percentage: 61.5 },
      { claude_name: "Client-Old", cost_delta: 0.0421, mode: "autonomy", current_interval: 1800, hostname: "clap-1", ip_address: "127.0.1.1" },
    ]) {
      const a = await webhook.post(url, payload);
      expect(earlierClient(a.status, a.body)).toBe(true);
    }
    // The later client, sending whatever interval it is at, applies each answer.
    let current = 60;
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) {
      const a = await webhook.post(url, { claude_name: "Client-New", cost_delta: 0.01, cache_read_increment: 20_000, mode: "autonomy", current_interval: current });
      const { next, logLine } = laterClient(current, a.status, a.body);
      expect(next).toBe(a.body.recommended_interval);
      expect(next).toBeGreaterThanOrEqual(BOUNDS.min);
      expect(next).toBeLessThanOrEqual(BOUNDS.max);
      lines.push(logLine);
      current = next;
    }
    for (const line of lines) expect(line).toMatch(/^fairness=\d+\.\d\d quota=(good|medium|high|critical|paused|unknown) next=\d+s$/);
  });
});
