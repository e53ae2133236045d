import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { IncrementRow } from "../../functions/report.ts";
import { storeIncrements, type Writes } from "../../functions/store.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { openFileConnection, WEBHOOK_CACHE_KIB, WEBHOOK_WAL_AUTOCHECKPOINT } from "../../runner/platform/file-connection.ts";
import { migrate } from "../../shared/migrations.ts";
import { rollUpBehind } from "../../runner/webhook/roll-up-behind.ts";
import { ROLL_UP_NEW } from "../../shared/rollup.ts";
import { median } from "./median.ts";

/**
 * What keeping the rollup costs the write path, in one process: the
 * webhook's own file connection (as runner/webhook/start.ts opens it)
 * stores commits of `perCommit` reports from a family of 1,000 agents into
 * three fresh files: the rollup kept up once a second behind the commits
 * (rollUpBehind, what the webhook does), the rollup's statements in each
 * commit's own transaction (the alternative), and no rollup; in rotating
 * slices, so that the machine's changing speed (other work on its 2 cores)
 * falls on all alike. The HTTP benchmark's runs differ by more than these
 * costs from one minute to the next.
 */
export interface RollupWriteResults {
  perCommit: number;
  /** Reports stored per second in each slice: the rollup kept up behind the commits (as the webhook does), in each commit's transaction, and not at all. */
  behind: number[];
  inEachCommit: number[];
  without: number[];
}

const AGENTS = 1000;

export async function benchRollupWrites(log: (line: string) => void, { slices = 10, sliceMs = 1500, perCommit = 10 } = {}): Promise<RollupWriteResults> {
  const dir = mkdtempSync(join(tmpdir(), "rs-bench-rollup-writes-"));
  try {
    const connect = async (name: string) => {
      const path = join(dir, `${name}.db`);
      const migrated = await openDatabase({ url: `file:${path}` });
      await migrate(migrated.client);
      migrated.close();
      return openFileConnection(path, { busyTimeoutMs: 100, cacheKib: WEBHOOK_CACHE_KIB, walAutocheckpoint: WEBHOOK_WAL_AUTOCHECKPOINT });
    };
    const quiet = { debug() {}, info() {}, warn: log, error: log, flush() {} };
    const behindConnection = await connect("behind");
    const behind = rollUpBehind(behindConnection, quiet);
    const eachConnection = await connect("in-each-commit");
    const inEachCommit: Writes = {
      protocol: eachConnection.protocol,
      execute: eachConnection.execute,
      batch: (statements, mode) => eachConnection.batch([...statements, ...ROLL_UP_NEW], mode),
    };
    const without = await connect("without");
    const kinds: [keyof Omit<RollupWriteResults, "perCommit">, Writes][] = [["behind", behind.writes], ["inEachCommit", inEachCommit], ["without", without]];
    let n = 0;
    const commit = (): IncrementRow[] => {
      const now = new Date().toISOString();
      return Array.from({ length: perCommit }, () => {
        const i = n++;
        return {
          claude_name: `agent-${String((i * 7919) % AGENTS).padStart(4, "0")}`, timestamp: now, mode: i % 4 ? "autonomy" : "collaboration",
          cache_read_increment: 1000 + (i % 5000), context_percentage: null, cost_delta: i % 3 ? null : 0.001 * (i % 17), event_id: null, received_at: now, host: null,
        };
      });
    };
    const slice = async (writes: Writes): Promise<number> => {
      const start = performance.now();
      let stored = 0;
      while (performance.now() - start < sliceMs) {
        stored += (await storeIncrements(writes, commit())).length;
        // Back to the event loop between commits, as the webhook's are (its timers, the rollup's among them, run there).
        await new Promise<void>((done) => setImmediate(done));
      }
      return stored / ((performance.now() - start) / 1000);
    };
    for (const [, writes] of kinds) await slice(writes);
    const results: RollupWriteResults = { perCommit, behind: [], inEachCommit: [], without: [] };
    for (let i = 0; i < slices; i++)
      // Rotating which goes first, so none always follows another's checkpoint.
      for (let k = 0; k < kinds.length; k++) {
        const [name, writes] = kinds[(i + k) % kinds.length]!;
        results[name].push(await slice(writes));
      }
    await behind.close();
    for (const c of [behindConnection, eachConnection, without]) c.close();
    const m = (xs: number[]) => median(xs).toFixed(0);
    log(`  storing ${perCommit} report(s) per commit, reports/s: ${m(results.behind)} with the rollup behind, ${m(results.inEachCommit)} with it in each commit, ${m(results.without)} without (medians of ${slices} slices of ${sliceMs} ms)`);
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
