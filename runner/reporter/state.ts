import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeAtomically } from "./durable-files.ts";
import type { FileMark } from "./transcripts.ts";

/**
 * What the reporter remembers between passes, in `state.json` of its
 * folder: how far each transcript was read, and the keys of the latest
 * messages it queued (so a message present in two files, or twice in one,
 * is queued once). The set is bounded: a repeat older than that is still
 * sent, and the webhook stores it once by its event id.
 */
export interface State {
  files: Record<string, FileMark>;
  /** In the order they were first seen, oldest first. */
  seen: Set<string>;
}

// Repeats are mostly a message's content blocks, written together, and the
// history a resumed session copies; 10,000 covers both in practice and keeps
// the reporter small between passes.
export const SEEN_LIMIT = 10_000;
// Keys are 32 hex digits (transcripts.ts), kept on disk as one string: cheap to read and write every pass.
const KEY = 32;

/**
 * The state of one agent's folder, read from the disk once and then kept:
 * a reporter that passes every 30 s does not parse and rebuild it each time.
 * What is kept is only ever what is on the disk: `save` updates both,
 * `forget` drops the copy after a pass that failed half-way.
 */
export class StateStore {
  private kept: State | undefined;
  private readonly path: string;

  constructor(folder: string) {
    this.path = join(folder, "state.json");
  }

  /** The state to start a pass from; the pass may change it, and must then save it or forget it. */
  load(): State {
    this.kept ??= this.read();
    return this.kept;
  }

  /** Written only after the messages it marks as read are in the durable queue. */
  save(state: State): void {
    for (const key of state.seen) {
      if (state.seen.size <= SEEN_LIMIT) break;
      state.seen.delete(key);
    }
    writeAtomically(this.path, JSON.stringify({ files: state.files, seen: [...state.seen].join("") }));
    this.kept = state;
  }

  forget(): void {
    this.kept = undefined;
  }

  private read(): State {
    if (!existsSync(this.path)) return { files: {}, seen: new Set() };
    try {
      const parsed = JSON.parse(readFileSync(this.path, "utf8")) as { files?: Record<string, FileMark>; seen?: string };
      const seen = new Set<string>();
      const text = parsed.seen ?? "";
      for (let at = 0; at + KEY <= text.length; at += KEY) seen.add(text.slice(at, at + KEY));
      return { files: parsed.files ?? {}, seen };
    } catch (err) {
      throw new Error(
        `The reporter's state ${this.path} cannot be read (${(err as Error).message}). Move it aside and start again: every transcript is then read from its start, and the webhook stores each message once by its event id.`,
      );
    }
  }
}
