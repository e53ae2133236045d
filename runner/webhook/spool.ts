import { randomUUID } from "node:crypto";
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, statSync, truncateSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { IncrementRow } from "../../functions/report.ts";
import { StartupError, filePath } from "../platform/database.ts";

/** One acknowledged write that waits for the database: a report, or a whole batch (applied all or none). */
export interface SpoolEntry {
  rows: IncrementRow[];
}

interface Waiting {
  line: string;
  entry: SpoolEntry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The spool could not make a report durable (disk full, directory gone, no permission). */
export class SpoolUnwritable extends Error {}

/**
 * The spool: an append-only file of reports that were acknowledged while the
 * database could not take them. One JSON line per entry, written and fsync'd
 * before the client gets its 200; appends that arrive together share one
 * fsync. Entries stay in the file until every one of them is in the
 * database; then the file is emptied. Replaying an entry twice (a crash
 * between commit and emptying) is harmless because every spooled row carries
 * an event id, which the database's unique index deduplicates.
 */
export class Spool {
  /** Durable entries not yet in the database, oldest first. */
  readonly entries: SpoolEntry[] = [];
  private waiting: Waiting[] = [];
  private writing: Waiting[] = [];
  private handle: FileHandle | undefined;
  /** Bytes of whole lines in the file; a failed append is cut back to this. */
  private size = 0;
  /** File operations run one after another, in the order they were asked for. */
  private chain: Promise<unknown> = Promise.resolve();
  private flushQueued = false;

  constructor(readonly path: string) {}

  /** Reports waiting for the database, counting each row of a batch. */
  get backlog(): number {
    let n = 0;
    for (const w of [...this.waiting, ...this.writing]) n += w.entry.rows.length;
    for (const e of this.entries) n += e.rows.length;
    return n;
  }

  /** When the server received the oldest report waiting here (its received_at), or undefined when none waits. */
  get oldestReceivedAt(): string | undefined {
    return (this.entries[0] ?? this.writing[0]?.entry ?? this.waiting[0]?.entry)?.rows[0]?.received_at;
  }

  /** True while anything is spooled or being spooled: new writes must queue behind it. */
  get busy(): boolean {
    return this.entries.length > 0 || this.waiting.length > 0 || this.writing.length > 0;
  }

  /**
   * Reads entries left by an earlier run. A torn last line is a write that
   * was never acknowledged and is dropped; an unreadable line elsewhere is
   * kept aside in a copy of the file for a person to look at.
   * Returns the number of lines that could not be read.
   */
  load(): { unreadable: number; copy?: string } {
    if (!existsSync(this.path)) return { unreadable: 0 };
    const text = readFileSync(this.path, "utf8");
    const lines = text.split("\n");
    const complete = lines.slice(0, -1); // what follows the last newline is empty, or a torn write
    let unreadable = 0;
    for (const line of complete) {
      const entry = parseEntry(line);
      if (entry) this.entries.push(entry);
      else unreadable++;
    }
    this.size = Buffer.byteLength(complete.map((l) => `${l}\n`).join(""));
    // Cut a torn tail off, so the next append starts on a line of its own.
    if (statSync(this.path).size > this.size) truncateSync(this.path, this.size);
    if (unreadable === 0) return { unreadable };
    const copy = `${this.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    appendFileSync(copy, text);
    return { unreadable, copy };
  }

  /**
   * Makes rows durable in the spool. Rows without an event id get one made
   * here, so that a replay after a crash cannot store them twice.
   * Resolves once the line is on disk; rejects with SpoolUnwritable.
   */
  append(rows: IncrementRow[]): Promise<void> {
    const entry: SpoolEntry = { rows: withEventIds(rows) };
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ line: `${JSON.stringify(entry)}\n`, entry, resolve, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        void this.run(() => this.flush());
      }
    });
  }

  /** Forgets the first `count` entries once they are in the database. */
  applied(count: number): void {
    this.entries.splice(0, count);
  }

  /**
   * Empties the file if nothing is left to apply, atomically with respect to
   * appends. Returns false when new entries arrived meanwhile.
   */
  async emptyIfDrained(): Promise<boolean> {
    return this.run(async () => {
      if (this.busy) return false;
      if (this.size > 0 && this.handle) {
        await this.handle.truncate(0);
        await this.handle.datasync();
        this.size = 0;
      }
      return true;
    });
  }

  async close(): Promise<void> {
    await this.run(async () => {
      await this.handle?.close();
      this.handle = undefined;
    });
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.chain.then(op);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    // Appends that arrive while this group is written wait for the next flush.
    const group = (this.writing = this.waiting);
    this.waiting = [];
    if (group.length === 0) return;
    try {
      const handle = await this.file();
      const text = group.map((w) => w.line).join("");
      try {
        await handle.appendFile(text);
        await handle.datasync();
      } catch (err) {
        // Cut a half-written line off so the next append starts on a clean line.
        await handle.truncate(this.size).catch(() => undefined);
        throw err;
      }
      this.size += Buffer.byteLength(text);
      for (const w of group) this.entries.push(w.entry);
      this.writing = [];
      for (const w of group) w.resolve();
    } catch (err) {
      this.writing = [];
      const problem = new SpoolUnwritable(`cannot write the spool file ${this.path}: ${(err as Error).message}`);
      for (const w of group) w.reject(problem);
    }
  }

  /** Opened on first use, so a healthy service never touches the file. */
  private async file(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    const isNew = !existsSync(this.path);
    this.handle = await open(this.path, "a");
    if (isNew) {
      // Make the new file's directory entry durable too.
      const dir = await open(dirname(this.path), "r");
      await dir.sync().finally(() => dir.close());
    }
    this.size = statSync(this.path).size;
    return this.handle;
  }
}

/**
 * Gives rows without a client event id one made here, so that the unique
 * index on (claude_name, event_id) turns a second attempt into a no-op.
 */
export function withEventIds(rows: IncrementRow[]): IncrementRow[] {
  return rows.some((r) => r.event_id === null) ? rows.map((r) => (r.event_id === null ? { ...r, event_id: `srv-${randomUUID()}` } : r)) : rows;
}

function parseEntry(line: string): SpoolEntry | undefined {
  try {
    const entry = JSON.parse(line) as SpoolEntry;
    return Array.isArray(entry?.rows) && entry.rows.length > 0 ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the spool lives: beside a file database (same disk, same backups),
 * in SPOOL_DIR when set, and in data/ for a libSQL server. Checked at start
 * so that an unusable spool stops the service with a message instead of
 * failing the first time the database is locked.
 */
export function spoolPathFor(databaseUrl: string, spoolDir: string | undefined): string {
  const file = filePath(databaseUrl);
  const name = file ? `${basename(file)}.spool` : `libsql-${serverName(databaseUrl)}.spool`;
  const dir = spoolDir ? resolve(spoolDir) : file ? dirname(file) : resolve("data");
  if (!spoolDir && !file && !existsSync(dir)) mkdirSync(dir, { recursive: true });
  let problem: string | undefined;
  if (!existsSync(dir)) problem = "does not exist";
  else if (!statSync(dir).isDirectory()) problem = "is not a directory";
  else {
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      problem = "is not writable by this user";
    }
  }
  if (problem)
    throw new StartupError(
      `The spool directory ${dir} ${problem}. The webhook keeps reports there while the database is locked or unreachable. Create it or set SPOOL_DIR to a writable directory.`,
    );
  return join(dir, name);
}

/** host[_port] of a server URL, safe as part of a file name; never the credentials. */
function serverName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `_${u.port}` : ""}`.replace(/[^\w.-]/g, "_");
  } catch {
    return "server";
  }
}
