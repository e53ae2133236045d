import { closeSync, fdatasync, openSync } from "node:fs";

/** How often, at most, the WAL is written out while commits come in. */
export const WAL_FLUSH_MS = 50;

export interface WalFlusher {
  /** A commit was made: the WAL is written out within the interval, by one sync for all commits until then. */
  committed(): void;
  /**
   * Resolves once every commit made before the call is on the disk: by a
   * sync that starts after the call, at once unless one is running, and
   * shared by every caller until it starts (group commit of the syncs).
   * Rejects when that sync fails.
   */
  synced(): Promise<void>;
  close(): void;
}

export interface WalFlusherOptions {
  everyMs?: number;
  /** Told about the first failed sync only; later ones would repeat it. */
  onError: (err: Error) => void;
  /** fs.fdatasync; a test passes one that counts. */
  sync?: (fd: number, done: (err: Error | null) => void) => void;
}

/**
 * Writes a database's WAL file out to disk in the background while commits
 * come in: fdatasync on libuv's thread pool, at most once per interval, and
 * nothing while no one writes.
 *
 * Why: with synchronous=NORMAL a commit only hands its pages to the OS, so
 * a checkpoint first has to sync everything written to the WAL since the
 * last one (some 64 MB at the webhook's 16,000 frames) while the webhook
 * answers no report. Written out as it goes, the WAL leaves the checkpoint
 * little to wait for (figures: docs/performance.md, "Settings chosen by measurement"). A sync only makes committed data durable
 * sooner; it never changes what is stored.
 *
 * SQLite keeps the WAL file (`<database>-wal`) while a connection is open
 * and reuses it from the start after a checkpoint, so one descriptor,
 * opened at the first flush, serves the connection's life.
 */
export function walFlusher(databasePath: string, { everyMs = WAL_FLUSH_MS, onError, sync = fdatasync }: WalFlusherOptions): WalFlusher {
  const walPath = `${databasePath}-wal`;
  let fd: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let syncing = false;
  let dirty = false;
  let closed = false;
  let warned = false;
  // Callers of synced() waiting for a sync that has not started yet.
  let next: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | undefined;

  const schedule = () => {
    if (timer === undefined && !closed) timer = setTimeout(flush, everyMs).unref();
  };

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    if (closed) return;
    if (syncing) return schedule();
    const waiting = next;
    next = undefined;
    try {
      fd ??= openSync(walPath, "r");
    } catch (err) {
      waiting?.reject(err as Error);
      return fail(err as Error);
    }
    dirty = false;
    syncing = true;
    sync(fd, (err) => {
      syncing = false;
      if (err) {
        waiting?.reject(err);
        fail(err);
      } else waiting?.resolve();
      if (closed) release();
      else if (next) flush();
      else if (dirty) schedule();
    });
  }

  function fail(err: Error): void {
    if (warned) return;
    warned = true;
    onError(err);
  }

  function release(): void {
    if (fd === undefined) return;
    closeSync(fd);
    fd = undefined;
  }

  return {
    committed() {
      dirty = true;
      schedule();
    },
    synced() {
      if (closed) return Promise.reject(new Error(`the WAL file ${walPath} is closed`));
      if (next === undefined) {
        let resolve!: () => void;
        let reject!: (err: Error) => void;
        const promise = new Promise<void>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        next = { promise, resolve, reject };
      }
      const { promise } = next;
      // A running sync may have missed this caller's commit: the next one starts when it ends.
      if (!syncing) flush();
      return promise;
    },
    close() {
      closed = true;
      next?.reject(new Error(`the WAL file ${walPath} was closed before it was written to disk`));
      next = undefined;
      clearTimeout(timer);
      timer = undefined;
      // A sync in flight keeps the descriptor until it ends.
      if (!syncing) release();
    },
  };
}
