import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Claude Code transcript lines, written by the tests themselves (never
 * copied from a real machine): the shape the reporter and ccusage read.
 */
export interface FakeMessage {
  id: string;
  requestId: string;
  model?: string;
  timestamp: string;
  input: number;
  output: number;
  cacheCreation?: number;
  cacheRead?: number;
}

export function assistantLine(m: FakeMessage): string {
  return JSON.stringify({
    parentUuid: null,
    isSidechain: false,
    userType: "external",
    cwd: "/home/agent/project",
    sessionId: "00000000-0000-4000-8000-000000000000",
    version: "2.0.0",
    type: "assistant",
    message: {
      id: m.id,
      type: "message",
      role: "assistant",
      ...(m.model === undefined ? {} : { model: m.model }),
      content: [{ type: "text", text: "done" }],
      usage: {
        input_tokens: m.input,
        output_tokens: m.output,
        cache_creation_input_tokens: m.cacheCreation ?? 0,
        cache_read_input_tokens: m.cacheRead ?? 0,
      },
    },
    requestId: m.requestId,
    uuid: `${m.id}-${m.requestId}`,
    timestamp: m.timestamp,
  });
}

export const userLine = (timestamp: string) =>
  JSON.stringify({ type: "user", message: { role: "user", content: "go on" }, uuid: `u-${timestamp}`, timestamp });

/** Appends whole lines (each with its newline) to a transcript, creating its folders. */
export function appendLines(path: string, lines: string[]): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, lines.map((l) => `${l}\n`).join(""));
}

/** A message n of a simple series, at `at` (ISO). */
export function message(n: number, at: string, model = "claude-sonnet-4-5-20250929"): FakeMessage {
  return { id: `msg_${n}`, requestId: `req_${n}`, model, timestamp: at, input: 10 + n, output: 100 + n, cacheCreation: 1000 + n, cacheRead: 5000 + n };
}
