import { describe, expect, it } from "vitest";
import { storeIncrements } from "../../functions/store.ts";
import type { IncrementRow } from "../../functions/report.ts";
import { EXIT_REFUSED, exitCode, failureBody } from "../../runner/platform/outcome.ts";
import { runHandler } from "../../runner/platform/run-handler.ts";
import { ROLL_UP_NEW } from "../../shared/rollup.ts";
import { addDays } from "../../shared/time.ts";
import { openStore, type TestStore } from "../support/backends.ts";
import { invokeContext } from "../support/context.ts";
import { ROLLUP_DIFFERENCES_SQL } from "../support/rollup.ts";
import { runInvoke, runRunner } from "../support/server.ts";

/** What `runner invoke` hands the handler, on the test's own connection, with the settings the spawned runs get. */
const invokeCtx = (store: TestStore) => invokeContext(store.db, { RESOURCE_SHARE_TZ: "UTC" });

const differing = (store: TestStore) => Number(store.rows<{ differing: number }>(ROLLUP_DIFFERENCES_SQL)[0]!.differing);

/** Reports every 20 minutes over the last two days, from now back, rolled up as the webhook does. */
async function twoDays(store: TestStore): Promise<void> {
  const now = Date.now();
  const rows: IncrementRow[] = Array.from({ length: 144 }, (_, i) => {
    const at = new Date(now - i * 20 * 60_000).toISOString();
    return {
      claude_name: `Agent-${i % 3}`, timestamp: at, mode: i % 2 ? "autonomy" : "collaboration", cache_read_increment: 100 + i,
      context_percentage: null, cost_delta: (i % 5) / 10, event_id: null, received_at: at, host: null,
    };
  });
  await storeIncrements(store.db, rows);
  await store.db.batch(ROLL_UP_NEW, "write");
}

describe("checkRollups", () => {
  it("finds a row a person changed, one deleted and one made up, sums their hours again from the reports, and finds nothing the second time", async () => {
    const store = await openStore();
    await twoDays(store);
    expect(differing(store)).toBe(0);
    store.run(`UPDATE usage_hourly SET tokens = tokens + 7 WHERE (hour_ms, claude_name, mode) IN (SELECT hour_ms, claude_name, mode FROM usage_hourly ORDER BY hour_ms LIMIT 1);
      DELETE FROM usage_hourly WHERE (hour_ms, claude_name, mode) IN (SELECT hour_ms, claude_name, mode FROM usage_hourly ORDER BY hour_ms DESC LIMIT 1);
      INSERT INTO usage_hourly (hour_ms, claude_name, mode, tokens, cost, reports) VALUES (0, 'Nobody', 'autonomy', 5, 0, 1);`);
    expect(differing(store)).toBe(3);

    const first = await runInvoke("checkRollups", '{"all":true}', { ...store.env, RESOURCE_SHARE_TZ: "UTC" });
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out).toMatchObject({ status: "repaired", differences: 3, hours_repaired: 3 });
    expect(out.examples).toContainEqual({ hour: "1970-01-01T00:00Z", claude_name: "Nobody", mode: "autonomy", rollup: { tokens: 5, cost: 0, reports: 1 }, reports: { tokens: 0, cost: 0, reports: 0 } });
    expect(first.stderr).toMatch(/differs from the reports in 3 row\(s\)/);
    expect(differing(store)).toBe(0);

    // The second run through the handler alone: the CLI's printing was shown above.
    const ctx = invokeCtx(store);
    const second = await runHandler("checkRollups", {}, ctx);
    expect(second).toMatchObject({ ok: true, value: { status: "equal", differences: 0 } });
    expect(second.ok && second.value.rows_checked).toBeGreaterThan(0);
    expect(ctx.progressLines).toEqual([expect.stringMatching(/the hourly rollup equals the reports' sums/)]);
  });

  it("is run by the daily job, which repairs a changed row of yesterday", async () => {
    const store = await openStore();
    await twoDays(store);
    const yesterday = addDays(new Date().toISOString().slice(0, 10), -1);
    store.run(`UPDATE usage_hourly SET reports = reports + 1 WHERE hour = '${yesterday}T12:00Z'`);
    expect(differing(store)).toBeGreaterThan(0);
    const run = await runRunner(["aggregate"], { ...store.env, RESOURCE_SHARE_TZ: "UTC" });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).rollup_check).toMatchObject({ status: "repaired", to: yesterday });
    expect(differing(store)).toBe(0);
  });

  // Through runHandler, the path `runner invoke` takes; what the CLI makes of a refusal is the test after.
  it.each([
    ['{"from":"2026-13-01"}', "from"],
    ['{"all":true,"from":"2026-03-01"}', "all"],
    ['{"all":"yes"}', "all"],
    ['{"from":"2026-03-02","to":"2026-03-01"}', "from"],
  ])("refuses %s naming %s, changing nothing", async (input, field) => {
    const store = await openStore();
    await twoDays(store);
    store.run("UPDATE usage_hourly SET tokens = tokens + 1 WHERE (hour_ms, claude_name, mode) IN (SELECT hour_ms, claude_name, mode FROM usage_hourly ORDER BY hour_ms LIMIT 1)");
    const result = await runHandler("checkRollups", JSON.parse(input), invokeCtx(store));
    if (result.ok) throw new Error(`checkRollups accepted ${input}: ${JSON.stringify(result.value)}`);
    expect(exitCode(result.error)).toBe(EXIT_REFUSED);
    expect(failureBody(result.error)).toMatchObject({ status: "error", error: "invalid_input", issues: [{ field }] });
    expect(differing(store)).toBe(1);
  });

  it("refuses through runner invoke with exit code 1, the refusal's body on stdout and a line for a person on stderr, changing nothing", async () => {
    const store = await openStore();
    await twoDays(store);
    store.run("UPDATE usage_hourly SET tokens = tokens + 1 WHERE (hour_ms, claude_name, mode) IN (SELECT hour_ms, claude_name, mode FROM usage_hourly ORDER BY hour_ms LIMIT 1)");
    const run = await runInvoke("checkRollups", '{"from":"2026-03-02","to":"2026-03-01"}', { ...store.env, RESOURCE_SHARE_TZ: "UTC" });
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({ status: "error", error: "invalid_input", issues: [{ field: "from" }] });
    // The same body the refusals above were checked on in-process.
    const inProcess = await runHandler("checkRollups", { from: "2026-03-02", to: "2026-03-01" }, invokeCtx(store));
    expect(inProcess.ok || failureBody(inProcess.error)).toEqual(body);
    expect(run.stderr).toContain(body.message);
    expect(run.stderr).toMatch(/checkRollups refused the input; nothing was changed/);
    expect(differing(store)).toBe(1);
  });
});
