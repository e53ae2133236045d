import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { onServer, openStore, type TestStore } from "../../support/backends.ts";
import { holdWriteLock, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { webhookApp, type InProcessApp } from "../../support/apps.ts";
import { postJson, startRunner } from "../../support/server.ts";

/**
 * The webhook's HTTP contract as the agents' timers see it: the real app,
 * built as `runner serve` builds it (spool, group commit, the file
 * connection), over a fresh database (a file read back with the real sqlite3
 * CLI; in the second pass a libSQL server), called in process. One app
 * serves the whole file; each test uses its own agent names so tests do not
 * see each other's rows. A lock held by a sqlite3 session is met by an app
 * of its own; what needs a process (SIGTERM, the stop that empties the WAL)
 * is at the end, on real `runner serve` processes.
 */

let webhook: InProcessApp;
let store: TestStore;

beforeAll(async () => {
  store = await openStore();
  webhook = await webhookApp(store.env);
});

afterAll(async () => {
  await webhook?.close();
  await store?.stop();
});

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: any;
}

// A stack trace names source files and frames; no answer may carry one.
const STACK = /\n\s+at |\.ts:\d+|node_modules|\bError:/;

/** Sends a request and checks what every answer must be: JSON, no stack trace. */
async function request(method: string, route: string, init: { body?: RequestInit["body"]; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await webhook.request(route, { method, ...init });
  const text = await res.text();
  const contentType = res.headers.get("content-type") ?? "";
  expect(contentType, `${method} ${route} answers JSON`).toMatch(/^application\/json/);
  expect(text, `${method} ${route} shows no stack trace`).not.toMatch(STACK);
  const json = JSON.parse(text);
  expect(json !== null && typeof json === "object" && !Array.isArray(json), "the reply is a JSON object").toBe(true);
  return { status: res.status, contentType, text, json };
}

const JSON_TYPE = { "content-type": "application/json" };
const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  request("POST", route, { body: typeof body === "string" ? body : JSON.stringify(body), headers: { ...JSON_TYPE, ...headers } });
const postIncrement = (body: unknown, headers?: Record<string, string>) => post("/resource-share/increment", body, headers);
const postBatch = (body: unknown, headers?: Record<string, string>) => post("/resource-share/increments", body, headers);

// On a libSQL server a report sent without an event id is given one by the
// webhook (srv-...) before it is written, so that a write whose answer is
// lost on the network can be retried without storing it twice.
const NO_EVENT_ID = onServer ? expect.stringMatching(/^srv-/) : null;

const rowCount = () => Number(store.rows<{ n: number }>("SELECT count(*) AS n FROM resource_share_increments")[0]!.n);
const rowsOf = (name: string) =>
  store.rows(`SELECT id, claude_name, timestamp, mode, cache_read_increment, context_percentage, cost_delta, event_id, host
     FROM resource_share_increments WHERE claude_name = '${name.replace(/'/g, "''")}' ORDER BY id`,
  );

describe("POST /resource-share/increment: the clients in the field", () => {
  it("stores each of the three client payloads of design.md and answers 200 with what was recorded", async () => {
    const payloads = [
      { claude_name: "Client-One", cache_read_increment: 1234, mode: "autonomy" },
      { claude_name: "Client-One", cache_read_increment: 4321, mode: "collaboration", context_percentage: 61.5 },
      { claude_name: "Client-One", cost_delta: 0.0421, mode: "autonomy", current_interval: 1800, hostname: "clap-1", ip_address: "127.0.1.1" },
    ];
    const answers = [];
    for (const p of payloads) {
      const a = await postIncrement(p);
      expect(a.status).toBe(200);
      expect(a.json).toMatchObject({ status: "success", claude_name: "Client-One", tokens_recorded: p.cache_read_increment ?? 0 });
      expect(Number.isInteger(a.json.id)).toBe(true);
      answers.push(a.json);
    }
    expect(rowsOf("Client-One")).toEqual([
      { id: answers[0].id, claude_name: "Client-One", timestamp: answers[0].timestamp, mode: "autonomy", cache_read_increment: 1234, context_percentage: null, cost_delta: null, event_id: NO_EVENT_ID, host: null },
      { id: answers[1].id, claude_name: "Client-One", timestamp: answers[1].timestamp, mode: "collaboration", cache_read_increment: 4321, context_percentage: 61.5, cost_delta: null, event_id: NO_EVENT_ID, host: null },
      { id: answers[2].id, claude_name: "Client-One", timestamp: answers[2].timestamp, mode: "autonomy", cache_read_increment: 0, context_percentage: null, cost_delta: 0.0421, event_id: NO_EVENT_ID, host: "clap-1" },
    ]);
    // The time is the server's clock, stored as UTC ISO-8601.
    for (const a of answers) {
      expect(a.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Math.abs(Date.parse(a.timestamp) - Date.now())).toBeLessThan(60_000);
    }
    // The agent is registered.
    expect(store.rows("SELECT name, active FROM claude_identities WHERE name = 'Client-One'")).toEqual([{ name: "Client-One", active: 1 }]);
  });

  it("shows the stored reports to the seed's Maintenance queries run with sqlite3 on the live database", async () => {
    await postIncrement({ claude_name: "Seed-Query", cache_read_increment: 777, mode: "collaboration" });
    // "View Recent Activity", verbatim from the seed.
    const recent = store.text("SELECT timestamp, claude_name, mode, cache_read_increment\nFROM resource_share_increments ORDER BY timestamp DESC LIMIT 20;",
    );
    const lines = recent.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(20);
    // Newest first: the report just posted is the first line.
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z\|Seed-Query\|collaboration\|777$/);
    // "View Daily Summaries", verbatim: it runs (no day is closed yet, so no rows).
    expect(store.text("SELECT * FROM daily_resource_share ORDER BY date DESC;")).toBe("");
  });

  it("ignores unknown extra fields instead of refusing the report", async () => {
    const a = await postIncrement({
      claude_name: "Extra-Fields", cache_read_increment: 5, mode: "autonomy",
      current_interval: 30, ip_address: "10.0.0.1", nested: { deep: [1, 2] }, id: 999999, received_at: "forged",
    });
    expect(a.status).toBe(200);
    const [row] = rowsOf("Extra-Fields");
    expect(row).toMatchObject({ id: a.json.id, cache_read_increment: 5 });
    expect(a.json.id).not.toBe(999999);
  });

  it("accepts null for the optional fields, as Python clients send None", async () => {
    const a = await postIncrement({
      claude_name: "Python-None", cache_read_increment: 12, mode: "collaboration",
      context_percentage: null, cost_delta: null, event_id: null, timestamp: null, hostname: null,
    });
    expect(a.status).toBe(200);
    expect(rowsOf("Python-None")).toEqual([
      expect.objectContaining({ cache_read_increment: 12, context_percentage: null, cost_delta: null, event_id: NO_EVENT_ID, host: null }),
    ]);
  });

  it("stores the name trimmed of surrounding whitespace, so one agent stays one agent", async () => {
    const a = await postIncrement({ claude_name: "  Trim-Me\t", cache_read_increment: 4, mode: "autonomy" });
    expect(a.status).toBe(200);
    expect(a.json.claude_name).toBe("Trim-Me");
    expect(rowsOf("Trim-Me")).toEqual([expect.objectContaining({ id: a.json.id })]);
    expect(store.rows("SELECT name FROM claude_identities WHERE name LIKE '%Trim-Me%'")).toEqual([{ name: "Trim-Me" }]);
  });

  it("stores a replayed report at the client's timestamp when it lies inside the replay window", async () => {
    const at = new Date(Date.now() - 3 * 86_400_000);
    at.setUTCMilliseconds(250);
    const a = await postIncrement({ claude_name: "Replayer", cache_read_increment: 9, mode: "autonomy", timestamp: at.toISOString().replace("Z", "+00:00") });
    expect(a.status).toBe(200);
    expect(rowsOf("Replayer")).toEqual([expect.objectContaining({ timestamp: at.toISOString() })]);
  });
});

describe("POST /resource-share/increment: bad input", () => {
  const good = { claude_name: "Bad-Input", cache_read_increment: 1, mode: "autonomy" };
  const withField = (extra: Record<string, unknown>) => JSON.stringify({ ...good, ...extra });
  const without = (field: string) => JSON.stringify(Object.fromEntries(Object.entries(good).filter(([k]) => k !== field)));
  const day = 86_400_000;

  // [what, body, status, field the message must name (or a pattern for non-field problems)]
  const cases: [string, string, number, string | RegExp][] = [
    ["missing claude_name", without("claude_name"), 400, "claude_name"],
    ["missing mode", without("mode"), 400, "mode"],
    ["missing both token and cost fields", without("cache_read_increment"), 400, /cache_read_increment or cost_delta/],
    ["claude_name a number", withField({ claude_name: 42 }), 400, "claude_name"],
    ["tokens as a string", withField({ cache_read_increment: "100" }), 400, "cache_read_increment"],
    ["tokens as a boolean", withField({ cache_read_increment: true }), 400, "cache_read_increment"],
    ["cost as a string", withField({ cost_delta: "0.1" }), 400, "cost_delta"],
    ["context_percentage as a boolean", withField({ context_percentage: false }), 400, "context_percentage"],
    ["negative tokens", withField({ cache_read_increment: -1 }), 400, "cache_read_increment"],
    ["fractional tokens", withField({ cache_read_increment: 1.5 }), 400, "cache_read_increment"],
    ["tokens beyond 2^53-1", withField({ cache_read_increment: 2 ** 53 }), 400, "cache_read_increment"],
    ["tokens overflowing to Infinity", '{"claude_name":"Bad-Input","mode":"autonomy","cache_read_increment":1e400}', 400, "cache_read_increment"],
    ["negative cost", withField({ cost_delta: -0.01 }), 400, "cost_delta"],
    ["unknown mode", withField({ mode: "vacation" }), 400, "mode"],
    ["mode in another case", withField({ mode: "Autonomy" }), 400, "mode"],
    ["empty name", withField({ claude_name: "" }), 400, "claude_name"],
    ["whitespace-only name", withField({ claude_name: " \t " }), 400, "claude_name"],
    ["10,000-character name", withField({ claude_name: "x".repeat(10_000) }), 400, "claude_name"],
    ["65-character name", withField({ claude_name: "x".repeat(65) }), 400, "claude_name"],
    ["control character in the name", withField({ claude_name: "Evil\u001b[31mRed" }), 400, "claude_name"],
    ["newline in the name", withField({ claude_name: "two\nlines" }), 400, "claude_name"],
    ["context_percentage above 100", withField({ context_percentage: 100.5 }), 400, "context_percentage"],
    ["context_percentage below 0", withField({ context_percentage: -1 }), 400, "context_percentage"],
    ["timestamp far in the future", withField({ timestamp: new Date(Date.now() + day).toISOString() }), 400, "timestamp"],
    ["timestamp older than the replay window", withField({ timestamp: new Date(Date.now() - 31 * day).toISOString() }), 400, "timestamp"],
    ["timestamp that is not a date", withField({ timestamp: "yesterday" }), 400, "timestamp"],
    ["timestamp on a day that does not exist", withField({ timestamp: "2026-02-30T10:00:00Z" }), 400, "timestamp"],
    ["timestamp without an offset", withField({ timestamp: "2026-11-01T10:00:00" }), 400, "timestamp"],
    ["event_id a number", withField({ event_id: 7 }), 400, "event_id"],
    ["event_id empty", withField({ event_id: "" }), 400, "event_id"],
    ["a JSON array", "[]", 400, /object/],
    ["a JSON string", '"Sparkle-Orange"', 400, /object/],
    ["JSON null", "null", 400, /object/],
    ["a JSON number", "1234", 400, /object/],
    ["malformed JSON", '{"claude_name": "Bad-Input", ', 400, /not valid JSON/],
    ["an empty body", "", 400, /not valid JSON/],
  ];

  it.each(cases.map(([what, body, status, names]) => [what, status, body, names] as const))(
    "%s: answers %i naming the problem and stores nothing", async (_what, status, body, names) => {
    const before = rowCount();
    const a = await request("POST", "/resource-share/increment", { body, headers: JSON_TYPE });
    expect(a.status).toBe(status);
    expect(a.json.status).toBe("error");
    if (typeof names === "string") {
      expect(a.json.message).toContain(names);
      expect(a.json.issues.map((i: { field: string }) => i.field)).toContain(names);
    } else {
      expect(a.json.message).toMatch(names);
    }
    // The bad input is never echoed back (it may be huge).
    expect(a.text.length).toBeLessThan(2000);
    expect(rowCount()).toBe(before);
  });

  it("answers 415 for a wrong content type and for none, naming Content-Type, and stores nothing", async () => {
    const before = rowCount();
    const body = JSON.stringify(good);
    for (const headers of [{ "content-type": "text/plain" }, { "content-type": "application/x-www-form-urlencoded" }]) {
      const a = await request("POST", "/resource-share/increment", { body, headers });
      expect(a.status).toBe(415);
      expect(a.json.message).toContain("Content-Type");
    }
    // Bytes, not a string: fetch then sends no Content-Type at all.
    const none = await request("POST", "/resource-share/increment", { body: new TextEncoder().encode(body) });
    expect(none.status).toBe(415);
    expect(none.json.message).toMatch(/Content-Type.*none/);
    expect(rowCount()).toBe(before);
  });

  it("accepts application/json with a charset parameter", async () => {
    const a = await postIncrement({ ...good, claude_name: "Charset" }, { "content-type": "application/json; charset=utf-8" });
    expect(a.status).toBe(200);
  });

  it("answers 413 for an oversized body, declared or streamed, and stores nothing", async () => {
    const before = rowCount();
    // Otherwise a valid report: only its size is wrong.
    const big = JSON.stringify({ ...good, padding: "x".repeat(100_000) });
    const declared = await request("POST", "/resource-share/increment", { body: big, headers: JSON_TYPE });
    expect(declared.status).toBe(413);
    expect(declared.json.message).toMatch(/larger than \d+ bytes/);
    const bytes = new TextEncoder().encode(big);
    const streamed = await request("POST", "/resource-share/increment", {
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 16_384) controller.enqueue(bytes.subarray(i, i + 16_384));
          controller.close();
        },
      }),
      headers: JSON_TYPE,
    });
    expect(streamed.status).toBe(413);
    expect(rowCount()).toBe(before);
  });
});

describe("POST /resource-share/increment: idempotency", () => {
  it("stores the same body event_id once and answers 200 with the same id both times", async () => {
    const before = rowCount();
    const report = { claude_name: "Idem-Body", cache_read_increment: 50, mode: "autonomy", event_id: "evt-body-1" };
    const first = await postIncrement(report);
    const second = await postIncrement(report);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.json.id).toBe(first.json.id);
    expect([first.json.duplicate, second.json.duplicate]).toEqual([false, true]);
    expect(second.json).toMatchObject({ status: "success", claude_name: "Idem-Body", tokens_recorded: 50 });
    expect(rowCount()).toBe(before + 1);
    expect(rowsOf("Idem-Body")).toEqual([expect.objectContaining({ id: first.json.id, event_id: "evt-body-1" })]);
  });

  it("treats the Idempotency-Key header as the event id", async () => {
    const before = rowCount();
    const report = { claude_name: "Idem-Header", cache_read_increment: 60, mode: "collaboration" };
    const first = await postIncrement(report, { "Idempotency-Key": "evt-header-1" });
    const second = await postIncrement(report, { "Idempotency-Key": "evt-header-1" });
    // The body field with the same value is the same event.
    const third = await postIncrement({ ...report, event_id: "evt-header-1" });
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect(new Set([first.json.id, second.json.id, third.json.id]).size).toBe(1);
    expect(rowCount()).toBe(before + 1);
    expect(rowsOf("Idem-Header")).toEqual([expect.objectContaining({ event_id: "evt-header-1" })]);
  });

  it("answers a repeated event id with what was stored the first time, not with the repeat's figures", async () => {
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const first = await postIncrement({ claude_name: "Idem-Changed", cache_read_increment: 70, mode: "autonomy", event_id: "chg-1", timestamp: at });
    // A buggy client reuses the id for a different report: nothing new is stored, and the answer says so truthfully.
    const second = await postIncrement({ claude_name: "Idem-Changed", cache_read_increment: 9999, mode: "autonomy", event_id: "chg-1" });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ id: first.json.id, duplicate: true, tokens_recorded: 70, timestamp: at });
    expect(rowsOf("Idem-Changed")).toEqual([expect.objectContaining({ cache_read_increment: 70, timestamp: at })]);
  });

  it("changes nothing for a resent report, single or batch: no id used up, the agent's last_seen where it was", async () => {
    const report = { claude_name: "Idem-Still", cache_read_increment: 8, mode: "autonomy" };
    const first = await postIncrement(report, { "Idempotency-Key": "still-1" });
    const batch = [
      { ...report, event_id: "still-2" },
      { ...report, event_id: "still-3" },
    ];
    const firstBatch = await postBatch(batch);
    expect([first.status, firstBatch.status]).toEqual([200, 200]);
    const state = () => ({
      counters: store.rows("SELECT name, seq FROM sqlite_sequence ORDER BY name"),
      agent: store.rows("SELECT id, first_seen, last_seen FROM claude_identities WHERE name = 'Idem-Still'"),
    });
    const before = state();
    // The resends are received later than the originals, so a last_seen they moved would show.
    const seen = String((before.agent[0] as { last_seen: string }).last_seen);
    while (new Date().toISOString() <= seen) await new Promise((r) => setTimeout(r, 2));

    const single = await postIncrement(report, { "Idempotency-Key": "still-1" });
    expect(single.json).toMatchObject({ id: first.json.id, duplicate: true });
    expect(state()).toEqual(before);
    const again = await postBatch(batch);
    expect(again.json).toMatchObject({ stored: 0, duplicates: 2 });
    expect(state()).toEqual(before);
    // The next new report takes the very next id.
    const next = await postIncrement(report, { "Idempotency-Key": "still-4" });
    expect(next.json.id).toBe(firstBatch.json.results[1].id + 1);
  });

  it("stores an event id once when the same report arrives many times at once", async () => {
    const before = rowCount();
    const report = { claude_name: "Idem-Burst", cache_read_increment: 3, mode: "autonomy", event_id: "burst-1" };
    const answers = await Promise.all(Array.from({ length: 20 }, () => postIncrement(report)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.json.id)).size).toBe(1);
    expect(answers.filter((a) => !a.json.duplicate)).toHaveLength(1);
    expect(rowCount()).toBe(before + 1);
  });

  it("keeps the same event id from two different agents apart", async () => {
    const a = await postIncrement({ claude_name: "Idem-A", cache_read_increment: 1, mode: "autonomy", event_id: "shared-id" });
    const b = await postIncrement({ claude_name: "Idem-B", cache_read_increment: 1, mode: "autonomy", event_id: "shared-id" });
    expect(a.json.id).not.toBe(b.json.id);
    expect(b.json.duplicate).toBe(false);
  });

  it("refuses a header and a body event_id that differ, naming event_id, and stores nothing", async () => {
    const before = rowCount();
    const a = await postIncrement(
      { claude_name: "Idem-Conflict", cache_read_increment: 1, mode: "autonomy", event_id: "body-id" },
      { "Idempotency-Key": "header-id" },
    );
    expect(a.status).toBe(400);
    expect(a.json.message).toContain("event_id");
    expect(a.json.issues.map((i: { field: string }) => i.field)).toEqual(["event_id"]);
    expect(rowCount()).toBe(before);
  });
});

describe("POST /resource-share/increments: batches", () => {
  const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3_600_000).toISOString();

  it("stores every report of a valid batch and answers one result per item", async () => {
    const before = rowCount();
    const batch = [
      { claude_name: "Batch-Ok", cache_read_increment: 10, mode: "autonomy", event_id: "b-1", timestamp: at(3) },
      { claude_name: "Batch-Ok", cache_read_increment: 20, mode: "collaboration", event_id: "b-2", timestamp: at(2) },
      { claude_name: "Batch-Ok", cost_delta: 0.5, mode: "autonomy" },
    ];
    const a = await postBatch(batch);
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ status: "success", stored: 3, duplicates: 0 });
    expect(a.json.results.map((r: { tokens_recorded: number }) => r.tokens_recorded)).toEqual([10, 20, 0]);
    expect(rowCount()).toBe(before + 3);
    expect(rowsOf("Batch-Ok").map((r) => [r.id, r.event_id, r.timestamp])).toEqual([
      [a.json.results[0].id, "b-1", batch[0]!.timestamp],
      [a.json.results[1].id, "b-2", batch[1]!.timestamp],
      [a.json.results[2].id, NO_EVENT_ID, a.json.results[2].timestamp],
    ]);
    // Replaying the same batch stores nothing new and answers the same ids.
    const again = await postBatch(batch.slice(0, 2));
    expect(again.json).toMatchObject({ stored: 0, duplicates: 2 });
    expect(again.json.results.map((r: { id: number }) => r.id)).toEqual([a.json.results[0].id, a.json.results[1].id]);
    expect(rowCount()).toBe(before + 3);
  });

  it("stores none of a batch with one invalid report, naming it by index", async () => {
    const before = rowCount();
    const a = await postBatch([
      { claude_name: "Batch-Bad", cache_read_increment: 10, mode: "autonomy" },
      { claude_name: "Batch-Bad", cache_read_increment: 10, mode: "sleeping" },
      { claude_name: "Batch-Bad", cache_read_increment: -5, mode: "autonomy" },
      "not a report",
    ]);
    expect(a.status).toBe(400);
    const fields = a.json.issues.map((i: { field: string }) => i.field);
    expect(fields).toEqual(["[1].mode", "[2].cache_read_increment", "[3]"]);
    expect(a.json.message).toContain("[1].mode");
    expect(rowCount()).toBe(before);
    expect(rowsOf("Batch-Bad")).toEqual([]);
  });

  it("stores a report whose event id appears twice inside one batch once", async () => {
    const before = rowCount();
    const item = { claude_name: "Batch-Dup", cache_read_increment: 10, mode: "autonomy", event_id: "dup-1" };
    const a = await postBatch([item, item, { ...item, event_id: "dup-2" }]);
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ stored: 2, duplicates: 1 });
    expect(a.json.results[1].id).toBe(a.json.results[0].id);
    expect(rowCount()).toBe(before + 2);
  });

  it.each([
    ["an empty array", "[]", /at least one/],
    ["an object instead of an array", '{"claude_name":"x"}', /array/],
    ["malformed JSON", "[{", /not valid JSON/],
  ])("refuses %s with 400 and stores nothing", async (_what, body, message) => {
    const before = rowCount();
    const a = await request("POST", "/resource-share/increments", { body, headers: JSON_TYPE });
    expect(a.status).toBe(400);
    expect(a.json.message).toMatch(message);
    expect(rowCount()).toBe(before);
  });

  it("answers 415 for a batch without a JSON content type", async () => {
    const a = await request("POST", "/resource-share/increments", { body: "[]", headers: { "content-type": "text/plain" } });
    expect(a.status).toBe(415);
  });
});

describe("read routes", () => {
  it("GET /resource/today/{name} sums today's reports for one agent, URL-encoded names included", async () => {
    const name = "Night Owl/ü #1";
    await postIncrement({ claude_name: name, cache_read_increment: 100, mode: "autonomy", cost_delta: 0.25 });
    await postIncrement({ claude_name: name, cache_read_increment: 40, mode: "collaboration" });
    await postIncrement({ claude_name: name, cache_read_increment: 2, mode: "autonomy" });
    const a = await request("GET", `/resource/today/${encodeURIComponent(name)}`);
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({
      claude_name: name,
      autonomous_tokens: 102,
      collaborative_tokens: 40,
      total_tokens: 142,
      autonomous_reports: 2,
      collaborative_reports: 1,
      report_count: 3,
      total_cost: 0.25,
    });
    expect(a.json.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("GET /resource/today/{name} answers zeros for an agent that has not reported", async () => {
    const a = await request("GET", "/resource/today/Never-Seen");
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ claude_name: "Never-Seen", total_tokens: 0, report_count: 0 });
  });

  it("GET /resource/today/{name} refuses a name no report could carry", async () => {
    const a = await request("GET", `/resource/today/${"x".repeat(65)}`);
    expect(a.status).toBe(400);
    expect(a.json.message).toContain("claude_name");
  });

  it("GET /resource/summary lists today's usage per agent and the day's total", async () => {
    await postIncrement({ claude_name: "Summary-A", cache_read_increment: 11, mode: "autonomy" });
    await postIncrement({ claude_name: "Summary-B", cache_read_increment: 22, mode: "collaboration" });
    const a = await request("GET", "/resource/summary");
    expect(a.status).toBe(200);
    const byName = Object.fromEntries(a.json.agents.map((r: { claude_name: string }) => [r.claude_name, r]));
    expect(byName["Summary-A"]).toMatchObject({ autonomous_tokens: 11, collaborative_tokens: 0, total_tokens: 11 });
    expect(byName["Summary-B"]).toMatchObject({ autonomous_tokens: 0, collaborative_tokens: 22, total_tokens: 22 });
    const sum = a.json.agents.reduce((s: number, r: { total_tokens: number }) => s + r.total_tokens, 0);
    expect(a.json.total_tokens).toBe(sum);
    // The live figures agree with the rows: every row stored today (UTC
    // instants of the server's local day) is counted once.
    expect(a.json.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(typeof a.json.time_zone).toBe("string");
  });

  it("GET /health reports the database reachable, the schema current and the agents registered", async () => {
    const a = await request("GET", "/health");
    expect(a.status).toBe(200);
    const agents = Number(store.rows<{ n: number }>("SELECT count(*) AS n FROM claude_identities")[0]!.n);
    const version = Number(store.rows<{ v: number }>("SELECT max(version) AS v FROM schema_migrations")[0]!.v);
    expect(a.json).toMatchObject({ status: "ok", database: "reachable", schema_version: version, expected_schema_version: version, agents_registered: agents });
    expect(agents).toBeGreaterThan(0);
  });

  it.each([
    ["GET", "/nothing-here"],
    ["GET", "/resource-share/increment"],
    ["POST", "/resource-share/unknown"],
    ["DELETE", "/resource/summary"],
  ])("%s %s answers 404 with a JSON explanation", async (method, route) => {
    const a = await request(method, route, method === "POST" ? { body: "{}", headers: JSON_TYPE } : {});
    expect(a.status).toBe(404);
    expect(a.json).toMatchObject({ status: "error", error: "not_found" });
    expect(a.json.message).toContain("README");
  });
});

describe("the access log", () => {
  it("writes one line per request, with the path as sent so an encoded newline cannot forge a line", async () => {
    await request("GET", "/resource/today/Log%0AINFO%20POST%20/forged%20200");
    await request("GET", "/no%0D%0Aroute");
    await expect.poll(() => webhook.output()).toContain("/no%0D%0Aroute 404");
    const lines = webhook.output().split("\n");
    expect(lines.filter((l) => l.startsWith("INFO POST /forged"))).toEqual([]);
    expect(lines.some((l) => /INFO GET \/resource\/today\/Log%0AINFO%20POST%20\/forged%20200 404 /.test(l))).toBe(true);
    expect(lines.filter((l) => l.includes("route 404") && !l.includes("/no%0D%0Aroute 404"))).toEqual([]);
  });
});

// A sqlite3 session holding the file's write lock; a server that stops answering is in remote.test.ts.
describe.skipIf(onServer)("a database that cannot take the write", () => {
  /** A person's sqlite3 session with a write transaction left open; resolves once it really holds the lock. */
  it("answers 200 from the spool while another process holds the write lock, and stores the report once it is released", async () => {
    const dbPath = tempDatabasePath();
    const own = await webhookApp({ DATABASE_URL: `file:${dbPath}` });
    const report = { claude_name: "Locked-Out", cache_read_increment: 1, mode: "autonomy" };
    const url = "/resource-share/increment";
    expect((await own.post(url, report)).status).toBe(200);
    const lock = await holdWriteLock(dbPath);
    try {
      const res = await own.post(url, report);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: "success", queued: true, id: null });
      expect(sqlite3Rows(dbPath, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 1 }]);
    } finally {
      await lock.release();
    }
    await expect.poll(async () => ((await (await own.request("/health")).json()) as { spool: { backlog: number } }).spool.backlog).toBe(0);
    // The lock is gone: the next report is stored directly (the connection recovered).
    const after = await own.post(url, report);
    expect(after.status).toBe(200);
    expect(typeof after.body.id).toBe("number");
    expect(sqlite3Rows(dbPath, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 3 }]);
    await own.close();
    expect(own.output()).not.toMatch(/ERROR/);
  });

  it("answers 503 with Retry-After only when the spool cannot be written either", async () => {
    const dbPath = tempDatabasePath();
    const spoolDir = join(tempDatabasePath(), "..", "spool");
    execFileSync("mkdir", [spoolDir]);
    const own = await webhookApp({ DATABASE_URL: `file:${dbPath}`, SPOOL_DIR: spoolDir });
    const report = { claude_name: "Locked-Out", cache_read_increment: 1, mode: "autonomy" };
    const url = "/resource-share/increment";
    // The spool directory is swapped for a file after start: nothing durable can be written now.
    execFileSync("rm", ["-r", spoolDir]);
    execFileSync("touch", [spoolDir]);
    const lock = await holdWriteLock(dbPath);
    try {
      const res = await own.request(url, { method: "POST", headers: JSON_TYPE, body: JSON.stringify(report) });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      const text = await res.text();
      expect(text).not.toMatch(STACK);
      expect(JSON.parse(text)).toMatchObject({ status: "error", error: "unavailable" });
    } finally {
      await lock.release();
    }
    // Nothing was stored for the refused report; the next one is written directly.
    expect((await own.post(url, report)).status).toBe(200);
    expect(sqlite3Rows(dbPath, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 1 }]);
    expect(own.output()).toMatch(/cannot write the spool file/);
  });
});

describe("stopping", () => {
  it("stops on SIGTERM with exit code 0, keeping what it stored", async () => {
    const db = await openStore();
    const own = await startRunner("serve", db.env);
    const a = await postJson(`${own.url}/resource-share/increment`, { claude_name: "Stopper", cache_read_increment: 3, mode: "autonomy" });
    expect(a.status).toBe(200);
    expect(await own.stop()).toBe(0);
    expect(own.output()).toMatch(/SIGTERM received/);
    expect(own.output()).toMatch(/stopped/);
    expect(db.rows("SELECT claude_name, cache_read_increment FROM resource_share_increments")).toEqual([
      { claude_name: "Stopper", cache_read_increment: 3 },
    ]);
  });

  it.skipIf(onServer)("leaves every report in the database file itself, the WAL emptied, so a copy of the .db file alone is complete", async () => {
    const db = await openStore();
    const path = db.path!;
    const own = await startRunner("serve", db.env);
    const reports = Array.from({ length: 400 }, (_, i) => ({ claude_name: `Agent-${i % 7}`, cache_read_increment: i, mode: "autonomy" }));
    expect((await postJson(`${own.url}/resource-share/increments`, reports)).status).toBe(200);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    expect(await own.stop()).toBe(0);
    expect(own.output()).not.toMatch(/could not be copied/);
    expect(statSync(`${path}-wal`).size).toBe(0);
    const alone = `${path}.alone.db`;
    copyFileSync(path, alone);
    expect(sqlite3Rows(alone, "SELECT count(*) AS n, sum(cache_read_increment) AS tokens FROM resource_share_increments")).toEqual([{ n: 400, tokens: (399 * 400) / 2 }]);
  });

  it.skipIf(onServer)("warns at stop, naming the -wal file, when a reader elsewhere keeps the WAL, and still exits 0", async () => {
    const db = await openStore();
    const path = db.path!;
    const own = await startRunner("serve", db.env);
    expect((await postJson(`${own.url}/resource-share/increment`, { claude_name: "Early", cache_read_increment: 1, mode: "autonomy" })).status).toBe(200);
    const reader = spawn("sqlite3", [path], { stdio: ["pipe", "pipe", "inherit"] });
    const readerExited = once(reader, "exit");
    onTestFinished(() => void reader.kill());
    reader.stdin.write("BEGIN;\nSELECT count(*) FROM resource_share_increments;\n");
    await once(reader.stdout, "data");
    expect((await postJson(`${own.url}/resource-share/increment`, { claude_name: "Late", cache_read_increment: 2, mode: "autonomy" })).status).toBe(200);
    expect(await own.stop()).toBe(0);
    expect(own.output()).toContain(`the WAL ${path}-wal could not be copied into ${path}`);
    reader.stdin.end("COMMIT;\n");
    await readerExited;
    // Nothing is lost: the next reader applies the WAL.
    expect(db.rows("SELECT claude_name FROM resource_share_increments ORDER BY id")).toEqual([{ claude_name: "Early" }, { claude_name: "Late" }]);
  });
});
