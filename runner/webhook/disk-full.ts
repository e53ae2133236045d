import type { Writes } from "../../functions/store.ts";
import type { Logger } from "../platform/log.ts";

/** SQLite's "database or disk is full" (SQLITE_FULL), or the system's ENOSPC however it surfaces. */
export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string } } | undefined;
  return /^SQLITE_FULL/.test(e?.code ?? "") || e?.cause?.code === "ENOSPC" || /ENOSPC|database or disk is full|no space left on device/i.test(`${e?.code ?? ""} ${e?.message ?? ""}`);
}

export interface DiskStatus {
  /** Since when writes fail for lack of space (ISO time); undefined while they do not. */
  fullSince?: string;
  message?: string;
  /** Whether the WAL was emptied since the disk filled. */
  walEmptied?: boolean;
}

export interface DiskGuard {
  /** The writes, watched: a write that fails for lack of space empties the WAL before the failure goes on. */
  writes: Writes;
  /** Called by the spool when its append fails for lack of space too. */
  spoolFull(err: unknown): void;
  status(): DiskStatus;
}

/**
 * The disk-full path. The WAL grows to some 64 MB between checkpoints and
 * keeps its size after them; on a full disk it holds space that nothing
 * else can have, and space a person frees is taken by it again. So when a
 * write fails for lack of space, the committed part of the WAL is copied
 * into the database file and the WAL truncated to nothing
 * (`checkpoint`: PRAGMA wal_checkpoint(TRUNCATE)) before the report is
 * answered 503; /health says the disk is full until a write succeeds again.
 * Copying the WAL in can itself need room (the file grows by the pages the
 * WAL added), so on a disk full to the last byte it is tried again before
 * each write until it works. A failed checkpoint loses nothing: what the WAL
 * holds is applied at the next one, or at the next open.
 */
export function diskGuard(writes: Writes, checkpoint: (() => boolean) | undefined, log: Logger): DiskGuard {
  let status: DiskStatus = {};

  /** Empties the WAL; says how that went. */
  function emptyWal(): { done: boolean; words: string } {
    if (!checkpoint) return { done: false, words: "there is no WAL to empty (a libSQL server)" };
    try {
      return checkpoint()
        ? { done: true, words: "its WAL was copied into the database file and truncated" }
        : { done: false, words: "its WAL could not be emptied fully (a reader in another process holds part of it)" };
    } catch (e) {
      // Copying the WAL in may need the file to grow: on a full disk that fails too, until space is freed.
      return { done: false, words: `emptying its WAL failed too (${(e as Error).message}); it is tried again before each write until it works` };
    }
  }

  function full(err: unknown): void {
    const first = status.fullSince === undefined;
    status = { fullSince: status.fullSince ?? new Date().toISOString(), message: (err as Error).message, walEmptied: false };
    const wal = emptyWal();
    status.walEmptied = wal.done;
    if (first) log.error(`the disk is full: the database cannot take writes (${(err as Error).message}); ${wal.words}. Reports are answered 503 until space is freed: delete or move files on that disk.`);
    else log.debug(`disk still full; ${wal.words}`);
  }

  /**
   * While the disk is full, each write first tries to empty the WAL: once a
   * person frees space, the WAL gives its own back before the write grows
   * it again, instead of taking what was freed.
   */
  function beforeWrite(): void {
    if (status.fullSince === undefined || status.walEmptied) return;
    const wal = emptyWal();
    status.walEmptied = wal.done;
    if (wal.done) log.info(`disk full since ${status.fullSince}: ${wal.words}`);
  }

  function succeeded(): void {
    if (status.fullSince === undefined) return;
    log.info(`the disk has room again (full since ${status.fullSince}); reports are stored again`);
    status = {};
  }

  const watched: Writes = {
    protocol: writes.protocol,
    execute: writes.execute.bind(writes) as Writes["execute"],
    async batch(statements, mode) {
      beforeWrite();
      try {
        const results = await writes.batch(statements, mode);
        succeeded();
        return results;
      } catch (err) {
        if (isDiskFull(err)) full(err);
        throw err;
      }
    },
  };
  return {
    writes: watched,
    spoolFull: (err) => {
      if (isDiskFull(err)) full(err);
    },
    status: () => status,
  };
}
