import type { InStatement, ResultSet, TransactionMode } from "@libsql/client";
import type { Db } from "../shared/context.ts";
import { isUnavailable } from "../shared/db.ts";

interface Waiting {
  statements: InStatement[];
  resolve: (results: ResultSet[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: write batches that arrive during the same turn of the event
 * loop are committed together in one transaction, and each caller gets back
 * its own results. Under load one commit (one fsync of the WAL) serves a
 * whole burst of requests; a lone request is flushed on the next tick, so
 * light traffic waits for nothing. Each caller's batch stays atomic: the
 * group commits all of it or none of it.
 */
export function groupCommit(db: Db): Db {
  let queue: Waiting[] = [];
  let running = false;

  async function flush(): Promise<void> {
    running = true;
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      await commitGroup(group);
    }
    running = false;
  }

  async function commitGroup(group: Waiting[]): Promise<void> {
    if (group.length === 1) {
      const only = group[0]!;
      await db.batch(only.statements, "write").then(only.resolve, only.reject);
      return;
    }
    try {
      const results = await db.batch(group.flatMap((w) => w.statements), "write");
      let at = 0;
      for (const w of group) {
        w.resolve(results.slice(at, at + w.statements.length));
        at += w.statements.length;
      }
    } catch (err) {
      if (isUnavailable(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      // One caller's batch broke the group (a constraint, say): commit the
      // others on their own so it fails alone.
      for (const w of group) await db.batch(w.statements, "write").then(w.resolve, w.reject);
    }
  }

  return {
    protocol: db.protocol,
    execute: db.execute.bind(db),
    transaction: db.transaction.bind(db),
    batch(statements: InStatement[], mode?: TransactionMode): Promise<ResultSet[]> {
      // Only write batches are grouped; reads gain nothing from it.
      if (mode !== "write") return db.batch(statements, mode);
      return new Promise<ResultSet[]>((resolve, reject) => {
        queue.push({ statements, resolve, reject });
        if (!running) {
          running = true;
          setImmediate(() => void flush());
        }
      });
    },
  } as Db;
}
