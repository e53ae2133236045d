import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Usage } from "./cost.ts";

/** Every `*.jsonl` under the directories, recursively, sorted; a directory that does not exist has none. */
export function listTranscripts(dirs: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone, or not ours to read: nothing to report from it
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && e.name.endsWith(".jsonl")) found.push(path);
    }
  };
  for (const dir of dirs) walk(dir);
  return [...new Set(found)].sort();
}

/** How far a file was read: its identity, the offset after the last whole line, and a digest of its first bytes. */
export interface FileMark {
  dev: number;
  ino: number;
  offset: number;
  /** sha256 of the file's first HEAD_BYTES bytes (or fewer, when it was shorter): a file rewritten in place differs there. */
  head: string;
  /** Modification time when read: unchanged with the same size, the file is not even opened again. */
  mtimeMs?: number;
}

const HEAD_BYTES = 256;
const CHUNK = 1 << 20;

export interface ReadResult {
  mark: FileMark;
  /** True when the file was read from its start again: it shrank or was replaced since the last pass. */
  restarted: boolean;
}

/**
 * Calls `onLine` for every whole line appended since `mark`, and returns
 * the new mark. Reads up to the size the file had when opened: what is
 * appended meanwhile is read next time. A last line without its newline is
 * still being written: it is left for the next pass.
 */
export function readAppended(path: string, mark: FileMark | undefined, onLine: (line: string) => void): ReadResult | undefined {
  // Most transcripts are finished sessions: one stat per pass, no open, no read.
  try {
    const st = statSync(path);
    if (mark && mark.mtimeMs === st.mtimeMs && mark.ino === st.ino && mark.dev === st.dev && mark.offset === st.size) return { mark, restarted: false };
  } catch {
    return undefined;
  }
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined; // removed between listing and reading
  }
  try {
    const st = fstatSync(fd);
    const head = headDigest(fd, Math.min(st.size, HEAD_BYTES));
    const same =
      mark !== undefined &&
      mark.dev === st.dev &&
      mark.ino === st.ino &&
      st.size >= mark.offset &&
      // The first bytes as they were when the mark was taken (a mark taken on fewer bytes compares those).
      (mark.offset >= HEAD_BYTES ? mark.head === head : mark.head === headDigest(fd, Math.min(mark.offset, HEAD_BYTES)));
    let offset = same ? mark.offset : 0;
    // Sized to what is new: a pass that finds a few appended lines does not take a megabyte.
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, st.size - offset)));
    let carry: Buffer | undefined;
    let position = offset;
    while (position < st.size) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, st.size - position), position);
      if (n === 0) break;
      position += n;
      const data = carry ? Buffer.concat([carry, buffer.subarray(0, n)]) : buffer.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        if (nl > start) onLine(data.toString("utf8", start, nl));
        start = nl + 1;
      }
      offset += start;
      carry = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
    }
    const markHead = offset >= HEAD_BYTES ? head : headDigest(fd, offset);
    // The time of the size read: a write after it moves the time and the size, and is read next pass.
    return { mark: { dev: st.dev, ino: st.ino, offset, head: markHead, mtimeMs: st.mtimeMs }, restarted: mark !== undefined && !same };
  } finally {
    closeSync(fd);
  }
}

function headDigest(fd: number, bytes: number): string {
  const b = Buffer.alloc(bytes);
  if (bytes > 0) readSync(fd, b, 0, bytes, 0);
  return createHash("sha256").update(b).digest("hex").slice(0, 32);
}

/** One assistant message with usage, as found in a transcript line. */
export interface Message {
  /** Identifies the message across lines and files: from message.id + requestId, or the line itself when either is missing. */
  key: string;
  timestamp: string;
  model: string | undefined;
  usage: Usage;
}

export type Skip = "not_json" | "no_usage" | "bad_usage" | "no_timestamp";

const wholeTokens = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/** The message a line holds, or why it holds none. */
export function parseLine(line: string, seen?: (key: string) => boolean): Message | Skip | "repeat" {
  // Most lines (prompts, tool results, summaries) carry no usage: parsing them
  // would be most of a pass's time. A line that does not even mention usage
  // is told apart from one that is not JSON by its braces, not parsed.
  if (!line.includes('"usage"')) return line.charCodeAt(0) === 123 && line.trimEnd().endsWith("}") ? "no_usage" : "not_json";
  // Claude Code writes a message once per content block, with the same ids:
  // a line whose ids are found in its text and already seen is a repeat,
  // known without parsing it. (`"requestId":"` is a top-level key; quotes
  // inside JSON strings are escaped, so these can only be keys.)
  if (seen) {
    const id = quoted(line, '"id":"msg_', 6);
    const requestId = id === undefined ? undefined : quoted(line, '"requestId":"', 13);
    if (id !== undefined && requestId !== undefined && seen(digest(`${id}\n${requestId}`))) return "repeat";
  }
  let entry: any;
  try {
    entry = JSON.parse(line);
  } catch {
    return "not_json";
  }
  const usage = entry?.message?.usage;
  if (usage === undefined || usage === null || typeof usage !== "object") return "no_usage";
  const u = {
    input: usage.input_tokens,
    output: usage.output_tokens,
    cacheCreation: usage.cache_creation_input_tokens ?? 0,
    cacheRead: usage.cache_read_input_tokens ?? 0,
  };
  if (!wholeTokens(u.input) || !wholeTokens(u.output) || !wholeTokens(u.cacheCreation) || !wholeTokens(u.cacheRead)) return "bad_usage";
  const timestamp = entry.timestamp;
  if (typeof timestamp !== "string" || Number.isNaN(Date.parse(timestamp))) return "no_timestamp";
  const id = entry.message.id;
  const requestId = entry.requestId;
  const key =
    typeof id === "string" && typeof requestId === "string" ? digest(`${id}\n${requestId}`) : digest(`line\n${line}`);
  const model = typeof entry.message.model === "string" && entry.message.model !== "" ? entry.message.model : undefined;
  return { key, timestamp: new Date(Date.parse(timestamp)).toISOString(), model, usage: u };
}

/** The text of the JSON string that starts `skip` characters into the first `marker`, if it holds no escapes. */
function quoted(line: string, marker: string, skip: number): string | undefined {
  const at = line.indexOf(marker);
  if (at === -1) return undefined;
  const end = line.indexOf('"', at + skip);
  if (end === -1) return undefined;
  const text = line.slice(at + skip, end);
  return text.includes("\\") ? undefined : text;
}

/** 128 bits in hex: the event id's body, and the key of the seen set. */
const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);
