import { describe, expect, it } from "vitest";
import { storeIncrements } from "../../../functions/store.ts";
import type { IncrementRow } from "../../../functions/report.ts";
import { openStore } from "../../support/backends.ts";
import { ROLLUP_DIFFERENCES_SQL } from "../../support/rollup.ts";
import { startRunner, waitForOutput } from "../../support/server.ts";

describe("the hourly rollup's build on start", () => {
  it("builds the rollup a person dropped, saying so on the console", async () => {
    const store = await openStore();
    const rows: IncrementRow[] = Array.from({ length: 500 }, (_, i) => {
      const at = new Date(Date.parse("2026-03-28T00:00:00Z") + i * 97_000).toISOString();
      return { claude_name: `Agent-${i % 9}`, timestamp: at, mode: "autonomy", cache_read_increment: i, context_percentage: null, cost_delta: 0.01, event_id: null, received_at: at, host: null };
    });
    await storeIncrements(store.db, rows);
    store.run("DROP TABLE usage_hourly");
    const runner = await startRunner("serve", store.env);
    await waitForOutput(runner, /the hourly rollup is built/);
    expect(runner.output()).toMatch(/the hourly rollup \(usage_hourly\) was missing: made again/);
    expect(runner.output()).toMatch(/building the hourly rollup from the reports stored before it \(ids 1\.\.500\)/);
    expect(runner.output()).toMatch(/building the hourly rollup: 500 of 500 report ids \(100%\)/);
    expect(store.rows(ROLLUP_DIFFERENCES_SQL)).toEqual([{ differing: 0 }]);
    expect(store.rows("SELECT sum(reports) AS n FROM usage_hourly")).toEqual([{ n: 500 }]);
  });
});
