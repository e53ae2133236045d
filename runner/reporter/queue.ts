import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { syncDirectory, writeAtomically } from "./durable-files.ts";

/** One report as the webhook takes it (POST /resource-share/increments). */
export type Report = Record<string, unknown>;

export interface QueuedBatch {
  reports: Report[];
  /** Byte offset in queue.jsonl just after this batch's line. */
  end: number;
}

/**
 * The batches not yet delivered, in order: `queue.jsonl`, one JSON array
 * per line, appended and fsync'd before the transcripts' offsets move on;
 * `queue.sent` holds how many of its bytes the webhook has taken. Once all
 * are taken the file is emptied. A batch sent twice (a crash between the
 * webhook's 200 and `queue.sent`) is stored once, by its event ids.
 */
export class Queue {
  private readonly path: string;
  private readonly sentPath: string;

  constructor(folder: string) {
    this.path = join(folder, "queue.jsonl");
    this.sentPath = join(folder, "queue.sent");
  }

  /** Appends the batches and returns once they are on the disk. */
  append(batches: Report[][]): void {
    if (batches.length === 0) return;
    const created = !existsSync(this.path);
    this.cutTornTail();
    const fd = openSync(this.path, "a");
    try {
      writeSync(fd, batches.map((b) => `${JSON.stringify(b)}\n`).join(""));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) syncDirectory(join(this.path, ".."));
  }

  /** The batches not delivered yet, oldest first. */
  pending(): QueuedBatch[] {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path);
    let at = this.sentOffset(text.length);
    const batches: QueuedBatch[] = [];
    for (let nl = text.indexOf(10, at); nl !== -1; nl = text.indexOf(10, at)) {
      batches.push({ reports: JSON.parse(text.toString("utf8", at, nl)) as Report[], end: nl + 1 });
      at = nl + 1;
    }
    return batches;
  }

  /** Records that every batch up to `end` was delivered; empties the file when none is left. */
  delivered(end: number): void {
    if (end >= statSync(this.path).size) {
      // The offset first: a crash before the file is emptied resends batches the webhook stores once,
      // while an emptied file with an old offset would hide the next batches appended to it.
      writeAtomically(this.sentPath, "0");
      truncateSync(this.path, 0);
    } else writeAtomically(this.sentPath, String(end));
  }

  private sentOffset(size: number): number {
    if (!existsSync(this.sentPath)) return 0;
    const n = Number(readFileSync(this.sentPath, "utf8"));
    // An offset that makes no sense resends everything: repeats are stored once, losses are not recovered.
    return Number.isSafeInteger(n) && n >= 0 && n <= size ? n : 0;
  }

  /** A line written without its fsync completing (a crash in append) was never acknowledged: cut it off. */
  private cutTornTail(): void {
    if (!existsSync(this.path)) return;
    const text = readFileSync(this.path);
    const whole = text.lastIndexOf(10) + 1;
    if (whole < text.length) truncateSync(this.path, whole);
  }
}
