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
  seen: string[];
}

// Repeats are mostly a message's content blocks, written together, and the
// history a resumed session copies; 10,000 covers both in practice and keeps
// the reporter small between passes (each key held costs memory in every pass).
export const SEEN_LIMIT = 10_000;

export function loadState(folder: string): State {
  const path = join(folder, "state.json");
  if (!existsSync(path)) return { files: {}, seen: [] };
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as State;
    return { files: parsed.files ?? {}, seen: parsed.seen ?? [] };
  } catch (err) {
    throw new Error(
      `The reporter's state ${path} cannot be read (${(err as Error).message}). Move it aside and start again: every transcript is then read from its start, and the webhook stores each message once by its event id.`,
    );
  }
}

/** Written only after the messages it marks as read are in the durable queue. */
export function saveState(folder: string, state: State): void {
  const seen = state.seen.length > SEEN_LIMIT ? state.seen.slice(-SEEN_LIMIT) : state.seen;
  writeAtomically(join(folder, "state.json"), JSON.stringify({ files: state.files, seen }));
}
