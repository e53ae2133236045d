import type { IncrementRow } from "../../functions/report.ts";
import { storeIncrements, type StoredIncrement, type Writes } from "../../functions/store.ts";
import { isUnavailable } from "../platform/libsql-client.ts";

interface Waiting<I, O> {
  items: I[];
  resolve: (results: O[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: calls that arrive during the same turn of the event loop
 * are served by one call of `run` over all their items (one transaction,
 * one write of the WAL), and each caller gets back the results of its own
 * items. A lone call runs on the next tick, so light traffic waits for
 * nothing. Each caller's items stay atomic: when the group fails for a
 * reason other than the database being unavailable (a constraint, say),
 * every caller is run again on its own, so a bad one fails alone.
 * `observe` hears how long each call of `run` took, failed ones too.
 */
export function groupCalls<I, O>(given: (items: I[]) => Promise<O[]>, observe?: (seconds: number) => void): (items: I[]) => Promise<O[]> {
  // Each call of `given` is one commit; its time goes to the metrics (a histogram observation, nothing more).
  const run = observe === undefined ? given : async (items: I[]): Promise<O[]> => {
    const started = performance.now();
    try {
      return await given(items);
    } finally {
      observe((performance.now() - started) / 1000);
    }
  };
  let queue: Waiting<I, O>[] = [];
  let running = false;

  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      await runGroup(group);
    }
    running = false;
  }

  async function runGroup(group: Waiting<I, O>[]): Promise<void> {
    if (group.length === 1) {
      const only = group[0]!;
      await run(only.items).then(only.resolve, only.reject);
      return;
    }
    try {
      const results = await run(group.flatMap((w) => w.items));
      let at = 0;
      for (const w of group) {
        w.resolve(results.slice(at, at + w.items.length));
        at += w.items.length;
      }
    } catch (err) {
      if (isUnavailable(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      for (const w of group) await run(w.items).then(w.resolve, w.reject);
    }
  }

  return (items) =>
    new Promise<O[]>((resolve, reject) => {
      queue.push({ items, resolve, reject });
      if (!running) {
        running = true;
        setImmediate(() => void flush());
      }
    });
}

/**
 * Reports from concurrent requests stored together: one storeIncrements
 * call, a handful of statements, for a whole burst. Grouping rows rather
 * than statements matters: preparing a statement costs more than the row it
 * inserts.
 */
export function groupStore(db: Writes, observe?: (seconds: number) => void): (rows: IncrementRow[]) => Promise<StoredIncrement[]> {
  return groupCalls((rows: IncrementRow[]) => storeIncrements(db, rows), observe);
}
