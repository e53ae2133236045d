import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { costOf } from "./cost.ts";
import type { Mode } from "./mode.ts";
import type { Queue, Report } from "./queue.ts";
import type { StateStore } from "./state.ts";
import { listTranscripts, parseLine, readAppended, type FileMark, type Skip } from "./transcripts.ts";

/** Reports per POST: far below the webhook's 5,000 and 4 MB. */
export const BATCH = 500;
// Batches held in memory before they go to the queue: a first pass over gigabytes stays small.
const FLUSH_BATCHES = 20;

export interface PassSummary {
  files: number;
  /** Files read from their start again: they shrank or were replaced. */
  restarted: number;
  messages: number;
  repeats: number;
  skipped: Record<Skip | "too_old", number>;
  /** Unknown model → messages reported without a cost. */
  unpriced: Map<string, number>;
}

export interface PassInput {
  agent: string;
  folder: string;
  dirs: string[];
  mode: Mode;
  queue: Queue;
  state: StateStore;
  now: Date;
  maxAgeDays: number;
}

/**
 * Reads what was appended to the transcripts since the last pass and puts
 * one report per new message in the durable queue. The offsets and the
 * seen keys are saved only after that: a pass killed anywhere is read
 * again, and what it had queued is stored once by its event ids.
 *
 * What a report holds: the four token classes and the model in their own
 * fields; `cache_read_increment` = the message's cache-read tokens, which is
 * what the agents' timers always sent in it, so the daily sums keep their
 * meaning; `cost_delta` = the message's cost from prices.json, absent for a
 * model the table does not know.
 */
export function readPass(p: PassInput): PassSummary {
  try {
    return pass(p);
  } catch (err) {
    // The kept state may hold keys of messages that never reached the queue: read it from the disk again.
    p.state.forget();
    throw err;
  }
}

function pass(p: PassInput): PassSummary {
  mkdirSync(p.folder, { recursive: true, mode: 0o700 });
  const state = p.state.load();
  const seen = state.seen;
  const isSeen = (key: string) => seen.has(key);
  const files: Record<string, FileMark> = {};
  const summary: PassSummary = {
    files: 0,
    restarted: 0,
    messages: 0,
    repeats: 0,
    skipped: { not_json: 0, no_usage: 0, bad_usage: 0, no_timestamp: 0, too_old: 0 },
    unpriced: new Map(),
  };
  const oldest = p.now.getTime() - p.maxAgeDays * 86_400_000;
  const host = hostname();
  let batch: Report[] = [];
  let held: Report[][] = [];
  const flush = () => {
    if (batch.length > 0) held.push(batch);
    batch = [];
    p.queue.append(held);
    held = [];
  };
  for (const path of listTranscripts(p.dirs)) {
    const read = readAppended(path, state.files[path], (line) => {
      const m = parseLine(line, isSeen);
      if (m === "repeat") return void summary.repeats++;
      if (typeof m === "string") return void summary.skipped[m]++;
      if (seen.has(m.key)) return void summary.repeats++;
      seen.add(m.key);
      if (Date.parse(m.timestamp) < oldest) return void summary.skipped.too_old++;
      const cost = costOf(m.model, m.usage);
      if (cost === undefined) summary.unpriced.set(m.model ?? "(none named)", (summary.unpriced.get(m.model ?? "(none named)") ?? 0) + 1);
      summary.messages++;
      batch.push({
        claude_name: p.agent,
        mode: p.mode,
        event_id: `cc-${m.key}`,
        timestamp: m.timestamp,
        cache_read_increment: m.usage.cacheRead,
        input_tokens: m.usage.input,
        output_tokens: m.usage.output,
        cache_creation_tokens: m.usage.cacheCreation,
        cache_read_tokens: m.usage.cacheRead,
        ...(m.model === undefined ? {} : { model: m.model.slice(0, 100) }),
        ...(cost === undefined ? {} : { cost_delta: cost }),
        hostname: host,
      });
      if (batch.length >= BATCH) {
        held.push(batch);
        batch = [];
        if (held.length >= FLUSH_BATCHES) flush();
      }
    });
    if (!read) continue;
    summary.files++;
    if (read.restarted) summary.restarted++;
    files[path] = read.mark;
  }
  flush();
  p.state.save({ files, seen });
  return summary;
}
