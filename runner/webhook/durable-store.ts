import { appendFile } from "node:fs/promises";
import type { IncrementRow } from "../../functions/report.ts";
import { storeIncrements, type StoredIncrement, type Writes } from "../../functions/store.ts";
import { isUnavailable } from "../platform/libsql-client.ts";
import type { Logger } from "../platform/log.ts";
import { withEventIds, type Spool } from "./spool.ts";

export interface SpoolStatus {
  /** "direct" while writes reach the database; "spooling" while they wait in the spool (or would, the database not being ready). */
  mode: "direct" | "spooling";
  /** Reports acknowledged but not yet in the database. */
  backlog: number;
  file: string;
  /** When the oldest report waiting in the spool was put there (ISO); null while it is empty. For the alerts. */
  since: string | null;
  /** Since when the database has refused this process's writes (ISO); null while it takes them. */
  refused_since: string | null;
}

export interface DurableStore {
  /**
   * Stores rows in the database, or, when it cannot take the write, makes
   * them durable in the spool ("spooled"). Throws SpoolUnwritable when
   * neither works, and any other fault as is.
   */
  store(rows: IncrementRow[]): Promise<StoredIncrement[] | "spooled">;
  /** Starts applying what an earlier run left in the spool. */
  resume(): void;
  /**
   * Stops applying the spool, at once if the loop is waiting for the
   * database, and resolves when the loop has let go of the connection.
   * What is left stays in the spool for the next start.
   */
  stop(): Promise<void>;
  status(): SpoolStatus;
  /** When the oldest report waiting in the spool was received, or undefined when none waits (for the metrics). */
  oldestWaiting(): string | undefined;
}

export interface DurableStoreOptions {
  /** How reports are written while the database takes them; start.ts groups concurrent ones (groupStore). */
  write?: (rows: IncrementRow[]) => Promise<StoredIncrement[]>;
  /**
   * Resolves once the database may be written: its migrations ran
   * (open-when-free.ts). Until then every write goes to the spool, which is
   * applied only afterwards, never to tables of an older schema.
   */
  ready?: Promise<void>;
  /**
   * Puts what the spool applied on the disk before the spool lets go of it
   * (a file's WAL sync; start.ts). Until then the spool is the reports' only
   * copy that survives a power loss.
   */
  beforeEmptying?: () => Promise<void>;
}

/** Rows applied per transaction while draining: big enough to catch up fast, small enough to keep the loop responsive. */
const DRAIN_ROWS = 500;
const FIRST_PROBE_MS = 50;
const MAX_PROBE_MS = 1000;

/**
 * The webhook's write path. While the spool is empty it costs one property
 * read per request. Once a write fails because the database is unavailable,
 * that write and every later one go to the spool (keeping their order),
 * and a background loop probes the database, applies the spool in order and
 * hands back to direct writes when the spool is empty.
 */
export function durableStore(
  db: Writes,
  spool: Spool,
  log: Logger,
  {
    write = (rows) => storeIncrements(db, rows),
    ready,
    beforeEmptying = async () => {},
  }: DurableStoreOptions = {},
): DurableStore {
  let writable = ready === undefined;
  void ready?.then(() => {
    writable = true;
    resume();
  });
  let draining = false;
  let stopping = false;
  let loop: Promise<void> = Promise.resolve();
  // What the alerts read (spool_backlog, database_unwritable): an earlier
  // run's leftovers count from this start, the age of their file unknown.
  let spooledSince: number | null = spool.busy ? Date.now() : null;
  let refusedSince: number | null = null;
  const refused = () => (refusedSince ??= Date.now());
  // Ends the loop's current wait early (stop).
  let wake = () => {};
  const sleep = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(done, ms);
      wake = () => {
        clearTimeout(timer);
        done();
      };
    });

  // A write to a libSQL server that times out may still have committed there:
  // give its rows event ids first, so that spooling and replaying them cannot
  // count them twice. A file database that fails a write has written nothing.
  const mayCommitAfterFailure = db.protocol !== "file";

  async function store(given: IncrementRow[]): Promise<StoredIncrement[] | "spooled"> {
    const rows = mayCommitAfterFailure ? withEventIds(given) : given;
    if (!spool.busy && writable) {
      try {
        const stored = await write(rows);
        refusedSince = null;
        return stored;
      } catch (err) {
        if (!isUnavailable(err)) throw err;
        refused();
        if (!spool.busy)
          log.warn(`the database cannot take writes (${(err as Error).message}); keeping reports in the spool file ${spool.path} until it can`);
      }
    }
    if (!spool.busy) spooledSince = Date.now();
    await spool.append(rows);
    resume();
    return "spooled";
  }

  function resume(): void {
    if (draining || stopping || !spool.busy || !writable) return;
    draining = true;
    loop = drain().finally(() => {
      draining = false;
      // Something arrived while the loop was finishing.
      if (spool.busy) resume();
    });
  }

  async function drain(): Promise<void> {
    let wait = FIRST_PROBE_MS;
    let applied = 0;
    const started = Date.now();
    for (;;) {
      if (stopping) return;
      if (spool.entries.length === 0) {
        const onDisk = await beforeEmptying().then(
          () => true,
          (err: unknown) => {
            log.error(`cannot write the database's WAL to disk after applying the spool (${(err as Error).message}); keeping the spool file ${spool.path} and trying again. Check the disk (dmesg).`);
            return false;
          },
        );
        if (!onDisk) {
          await sleep(MAX_PROBE_MS);
          continue;
        }
        const emptied = await spool.emptyIfDrained().catch((err: unknown) => {
          log.error(`cannot empty the spool file ${spool.path} after applying it (${(err as Error).message}); will retry. Its entries are in the database already and replaying them stores nothing twice.`);
          return false;
        });
        if (emptied) {
          spooledSince = null;
          log.info(`spool applied: ${applied} reports written to the database after ${((Date.now() - started) / 1000).toFixed(1)} s; writing directly again`);
          return;
        }
        await sleep(10); // appends in flight: let them land
        continue;
      }
      let count = 0;
      let rows = 0;
      while (count < spool.entries.length && rows < DRAIN_ROWS) rows += spool.entries[count++]!.rows.length;
      const chunk = spool.entries.slice(0, count);
      try {
        await storeIncrements(db, chunk.flatMap((e) => e.rows));
        spool.applied(count);
        refusedSince = null;
        applied += rows;
        wait = FIRST_PROBE_MS;
      } catch (err) {
        if (isUnavailable(err)) {
          refused();
          await sleep(wait);
          wait = Math.min(wait * 2, MAX_PROBE_MS);
          continue;
        }
        applied += await applyOneByOne(chunk);
      }
    }
  }

  /**
   * The database refused a chunk for a reason other than unavailability: a
   * row it will never take. Apply entry by entry and set refused ones aside
   * in a file beside the spool, so one bad entry cannot hold up the rest.
   */
  async function applyOneByOne(chunk: { rows: IncrementRow[] }[]): Promise<number> {
    let applied = 0;
    for (const entry of chunk) {
      try {
        await storeIncrements(db, entry.rows);
        applied += entry.rows.length;
      } catch (err) {
        if (isUnavailable(err)) return applied; // try again later, from this entry
        const aside = `${spool.path}.refused`;
        await appendFile(aside, `${JSON.stringify({ error: (err as Error).message, ...entry })}\n`);
        log.error(`the database refused a spooled entry of ${entry.rows.length} report(s) (${(err as Error).message}); it is kept in ${aside} for a person to look at`);
      }
      spool.applied(1);
    }
    return applied;
  }

  async function stop(): Promise<void> {
    stopping = true;
    wake();
    await loop;
  }

  return {
    store,
    resume,
    stop,
    status: () => ({
      mode: spool.busy || !writable ? "spooling" : "direct",
      backlog: spool.backlog,
      file: spool.path,
      since: spooledSince === null ? null : new Date(spooledSince).toISOString(),
      refused_since: refusedSince === null ? null : new Date(refusedSince).toISOString(),
    }),
    oldestWaiting: () => spool.oldestReceivedAt,
  };
}
