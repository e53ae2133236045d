import { spawn } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPass, type PassSummary } from "../../../runner/reporter/pass.ts";
import { Queue, type Report } from "../../../runner/reporter/queue.ts";
import { StateStore } from "../../../runner/reporter/state.ts";
import { tempDir } from "../../support/database.ts";
import { appendLines, assistantLine, message, userLine } from "../../support/transcripts.ts";

const NOW = new Date("2026-03-10T12:00:00Z");
const at = (minute: number) => new Date(NOW.getTime() - 3_600_000 + minute * 60_000).toISOString();

/** A transcripts folder, a state folder, and a pass over them; `queued()` is every report queued so far. */
function setup({ oneProcess = false } = {}) {
  const root = tempDir("rs-reporter-");
  const projects = join(root, "projects");
  const folder = join(root, "state");
  const queue = new Queue(folder);
  // By default a new store each pass, as a new process would start: what counts is what is on the disk.
  // With oneProcess, one store for every pass, as the reporter that keeps running has.
  const kept = new StateStore(folder);
  const pass = (now = NOW): PassSummary =>
    readPass({ agent: "Sparkle-Orange", folder, dirs: [projects], mode: "autonomy", queue, state: oneProcess ? kept : new StateStore(folder), now, maxAgeDays: 30 });
  const queued = (): Report[] => queue.pending().flatMap((b) => b.reports);
  const ids = () => queued().map((r) => r.event_id);
  return { projects, folder, pass, queued, ids };
}

describe("reading transcripts", () => {
  it("counts a message present twice in a file and again in another file once, and counts the lines it skips", () => {
    const t = setup();
    const a = join(t.projects, "-home-agent-one", "s1.jsonl");
    const b = join(t.projects, "-home-agent-two", "deep", "s2.jsonl");
    appendLines(a, [userLine(at(0)), assistantLine(message(1, at(1))), assistantLine(message(1, at(1))), "not json {", assistantLine(message(2, at(2)))]);
    appendLines(b, [assistantLine(message(2, at(2))), assistantLine(message(3, at(3))), JSON.stringify({ type: "summary", summary: "x" })]);
    const summary = t.pass();
    expect(summary).toMatchObject({ files: 2, messages: 3, repeats: 2, skipped: { not_json: 1, no_usage: 2 } });
    expect(new Set(t.ids()).size).toBe(3);
    expect(t.queued().map((r) => r.input_tokens).sort()).toEqual([11, 12, 13]);
    // A second pass finds nothing new, and a repeat appended later is still a repeat.
    expect(t.pass()).toMatchObject({ messages: 0, repeats: 0 });
    appendLines(b, [assistantLine(message(1, at(1)))]);
    expect(t.pass()).toMatchObject({ messages: 0, repeats: 1 });
    expect(t.queued()).toHaveLength(3);
  });

  it("fills each report's token classes, model and cost, and keeps cache_read_increment as the cache-read tokens", () => {
    const t = setup();
    appendLines(join(t.projects, "p", "s.jsonl"), [assistantLine(message(1, at(1)))]);
    t.pass();
    const [r] = t.queued();
    expect(r).toMatchObject({
      claude_name: "Sparkle-Orange",
      mode: "autonomy",
      timestamp: at(1),
      input_tokens: 11,
      output_tokens: 101,
      cache_creation_tokens: 1001,
      cache_read_tokens: 5001,
      cache_read_increment: 5001,
      model: "claude-sonnet-4-5-20250929",
    });
    // Sonnet 4.5: $3 input, $15 output, $3.75 cache write, $0.30 cache read per million tokens.
    expect(r!.cost_delta).toBeCloseTo((11 * 3 + 101 * 15 + 1001 * 3.75 + 5001 * 0.3) / 1e6, 12);
  });

  it("leaves a partial last line for the next pass and counts it once it is whole", () => {
    const t = setup();
    const path = join(t.projects, "p", "s.jsonl");
    const line = assistantLine(message(2, at(2)));
    appendLines(path, [assistantLine(message(1, at(1)))]);
    appendFileSync(path, line.slice(0, 40));
    expect(t.pass()).toMatchObject({ messages: 1, skipped: { not_json: 0 } });
    appendFileSync(path, `${line.slice(40)}\n`);
    expect(t.pass()).toMatchObject({ messages: 1, skipped: { not_json: 0 } });
    expect(t.queued().map((r) => r.input_tokens)).toEqual([11, 12]);
  });

  it("reads a file that shrank from its start again, counting only the messages it had not seen", () => {
    const t = setup();
    const path = join(t.projects, "p", "s.jsonl");
    appendLines(path, [1, 2, 3].map((n) => assistantLine(message(n, at(n)))));
    t.pass();
    truncateSync(path, 0);
    appendLines(path, [assistantLine(message(2, at(2))), assistantLine(message(4, at(4)))]);
    expect(t.pass()).toMatchObject({ restarted: 1, messages: 1, repeats: 1 });
    expect(t.queued().map((r) => r.input_tokens)).toEqual([11, 12, 13, 14]);
  });

  it("reads a file rewritten in place to a larger size from its start again (its first bytes changed)", () => {
    const t = setup();
    const path = join(t.projects, "p", "s.jsonl");
    appendLines(path, [assistantLine(message(1, at(1)))]);
    t.pass();
    writeFileSync(path, [5, 6, 7].map((n) => `${assistantLine(message(n, at(n)))}\n`).join(""));
    expect(t.pass()).toMatchObject({ restarted: 1, messages: 3 });
    expect(t.queued().map((r) => r.input_tokens)).toEqual([11, 15, 16, 17]);
  });

  it("reads a file rewritten in place to the same size from its start again", () => {
    const t = setup();
    const path = join(t.projects, "p", "s.jsonl");
    appendLines(path, [assistantLine(message(1, at(1))), assistantLine(message(2, at(2)))]);
    t.pass();
    // Messages 3 and 4 have lines of the same length as 1 and 2.
    const again = `${assistantLine(message(3, at(1)))}\n${assistantLine(message(4, at(2)))}\n`;
    expect(Buffer.byteLength(again)).toBe(readFileSync(path).length);
    writeFileSync(path, again);
    expect(t.pass()).toMatchObject({ restarted: 1, messages: 2 });
    expect(t.queued().map((r) => r.input_tokens)).toEqual([11, 12, 13, 14]);
  });

  it("reads a rotated transcript (renamed away, a new file in its place) from its start, and the renamed one counts nothing twice", () => {
    const t = setup();
    const path = join(t.projects, "p", "s.jsonl");
    appendLines(path, [1, 2].map((n) => assistantLine(message(n, at(n)))));
    t.pass();
    renameSync(path, join(t.projects, "p", "s.old.jsonl"));
    appendLines(path, [assistantLine(message(2, at(2))), assistantLine(message(3, at(3)))]);
    expect(t.pass()).toMatchObject({ messages: 1, repeats: 3 });
    expect(t.queued().map((r) => r.input_tokens)).toEqual([11, 12, 13]);
  });

  it("counts every message of a file that another process appends to while it is read, each exactly once", async () => {
    const t = setup();
    const path = join(t.projects, "p", "live.jsonl");
    appendLines(path, []);
    const lines = Array.from({ length: 3000 }, (_, n) => assistantLine(message(n, at(n % 50))));
    const linesFile = join(t.folder, "..", "lines.txt");
    writeFileSync(linesFile, lines.join("\n"));
    // The writer appends each line in two writes, so the reader meets half-written lines.
    const writer = spawn(
      process.execPath,
      ["-e", `const fs=require("fs");const ls=fs.readFileSync(${JSON.stringify(linesFile)},"utf8").split("\\n");for(const l of ls){fs.appendFileSync(${JSON.stringify(path)},l.slice(0,100));fs.appendFileSync(${JSON.stringify(path)},l.slice(100)+"\\n");}`],
      { stdio: "ignore" },
    );
    const done = once(writer, "exit");
    let finished = false;
    void done.then(() => (finished = true));
    let passes = 0;
    while (!finished) {
      t.pass();
      passes++;
      await new Promise((r) => setTimeout(r, 5));
    }
    t.pass();
    expect(passes).toBeGreaterThan(1);
    const ids = t.ids();
    expect(ids).toHaveLength(3000);
    expect(new Set(ids).size).toBe(3000);
  });

  it("reports a model missing from the price table with its tokens and no cost, and names it", () => {
    const t = setup();
    appendLines(join(t.projects, "p", "s.jsonl"), [
      assistantLine(message(1, at(1), "claude-imaginary-9")),
      assistantLine(message(2, at(2), "claude-imaginary-9")),
      assistantLine(message(3, at(3), "claude-opus-4-1-20250805")),
    ]);
    const summary = t.pass();
    expect([...summary.unpriced]).toEqual([["claude-imaginary-9", 2]]);
    const [one, two, three] = t.queued();
    expect(one).toMatchObject({ model: "claude-imaginary-9", input_tokens: 11, output_tokens: 101 });
    expect(one).not.toHaveProperty("cost_delta");
    expect(two).not.toHaveProperty("cost_delta");
    expect(three!.cost_delta).toBeGreaterThan(0);
  });

  it("bills a request whose input is above 200,000 tokens at the long-context rates, all of its tokens", () => {
    const t = setup();
    appendLines(join(t.projects, "p", "s.jsonl"), [
      assistantLine({ id: "big", requestId: "r", model: "claude-sonnet-4-5-20250929", timestamp: at(1), input: 1000, output: 2000, cacheCreation: 100_000, cacheRead: 150_000 }),
    ]);
    t.pass();
    expect(t.queued()[0]!.cost_delta).toBeCloseTo((1000 * 6 + 2000 * 22.5 + 100_000 * 7.5 + 150_000 * 0.6) / 1e6, 12);
  });

  it("does not report messages older than the webhook's replay window, and says how many", () => {
    const t = setup();
    appendLines(join(t.projects, "p", "s.jsonl"), [assistantLine(message(1, "2026-01-01T00:00:00Z")), assistantLine(message(2, at(2)))]);
    expect(t.pass()).toMatchObject({ messages: 1, skipped: { too_old: 1 } });
  });

  it.each([false, true])("keeps the offsets where they were when the queue cannot be written, so the next pass reads the same lines (one process: %s)", (oneProcess) => {
    const t = setup({ oneProcess });
    const path = join(t.projects, "p", "s.jsonl");
    appendLines(path, [assistantLine(message(1, at(1)))]);
    t.pass();
    const state = readFileSync(join(t.folder, "state.json"), "utf8");
    appendLines(path, [assistantLine(message(2, at(2)))]);
    // The queue's place taken by a directory: appending fails.
    const queueFile = join(t.folder, "queue.jsonl");
    const saved = readFileSync(queueFile);
    renameSync(queueFile, `${queueFile}.aside`);
    mkdirSync(queueFile);
    expect(() => t.pass()).toThrow();
    expect(readFileSync(join(t.folder, "state.json"), "utf8")).toBe(state);
    rmdirSync(queueFile);
    writeFileSync(queueFile, saved);
    expect(t.pass()).toMatchObject({ messages: 1 });
    expect(t.queued().map((r) => r.input_tokens)).toEqual([11, 12]);
  });
});
