import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../../runner/platform/libsql-client.ts";
import { tempDatabasePath } from "../../support/database.ts";
import { webhookApp } from "../../support/apps.ts";

/**
 * The contract of a report (README, "API"), written out again here
 * independently of the server's schema: the oracle the answers are judged by.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const absent = (x: unknown) => x === undefined || x === null;
const text = (x: unknown, max: number) => typeof x === "string" && x.length >= 1 && x.length <= max && !CONTROL.test(x) && !LONE_SURROGATE.test(x);

function isValidReport(x: unknown, now: number): boolean {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const r = x as Record<string, unknown>;
  if (typeof r.claude_name !== "string" || !text(r.claude_name.trim(), 64)) return false;
  if (r.mode !== "autonomy" && r.mode !== "collaboration") return false;
  const t = r.cache_read_increment;
  if (t !== undefined && !(typeof t === "number" && Number.isSafeInteger(t) && t >= 0)) return false;
  const c = r.cost_delta;
  if (!absent(c) && !(typeof c === "number" && Number.isFinite(c) && c >= 0)) return false;
  if (t === undefined && absent(c)) return false;
  const p = r.context_percentage;
  if (!absent(p) && !(typeof p === "number" && p >= 0 && p <= 100)) return false;
  if (!absent(r.event_id) && !text(r.event_id, 128)) return false;
  if (!absent(r.hostname) && !(typeof r.hostname === "string" && r.hostname.length <= 255 && (r.hostname === "" || text(r.hostname, 255)))) return false;
  if (!absent(r.timestamp)) {
    if (typeof r.timestamp !== "string" || !ISO.test(r.timestamp)) return false;
    const at = Date.parse(r.timestamp);
    // Generated timestamps are all real calendar times; only the window matters.
    if (Number.isNaN(at) || at > now + 5 * 60_000 || at < now - 30 * 86_400_000) return false;
  }
  return true;
}

const any = fc.jsonValue({ maxDepth: 2 });
const str = (maxLength: number) => fc.string({ unit: "binary", maxLength });
/** Mostly a right value, sometimes a wrong one: so that many reports are valid and many miss by one field. */
const mostly = <T, U>(right: fc.Arbitrary<T>, wrong: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: right, weight: 8 }, { arbitrary: wrong, weight: 1 });
/** Report-shaped objects whose fields are sometimes right, sometimes almost right, sometimes anything. */
const reportLike = fc.record(
  {
    claude_name: mostly(
      fc.constantFrom("Sparkle-Orange", " Padded ", "x".repeat(64)),
      fc.oneof(fc.constantFrom("", " \t ", "a\u0000b", "half \ud83d", "x".repeat(65)), str(70), any),
    ),
    mode: mostly(fc.constantFrom("autonomy", "collaboration"), fc.oneof(fc.constantFrom("Autonomy", "auto", ""), any)),
    cache_read_increment: mostly(
      fc.oneof(fc.nat(1_000_000), fc.constant(2 ** 53 - 1)),
      fc.oneof(fc.constantFrom(2 ** 53, -1, 1.5, "5", true, null), fc.double(), any),
    ),
    cost_delta: mostly(fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constant(null)), fc.oneof(fc.double(), fc.constantFrom(-0.01, "0.1"), any)),
    context_percentage: mostly(fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constant(null)), fc.oneof(fc.double({ min: -10, max: 110 }), any)),
    event_id: mostly(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant(null)), fc.oneof(str(130), any)),
    hostname: mostly(fc.constantFrom("clap-1", "host.example"), fc.oneof(str(300), any)),
    timestamp: mostly(fc.constant(null), fc.oneof(fc.constantFrom("2026-01-01T00:00:00Z", "yesterday", "2999-01-01T00:00:00Z"), any)),
    current_interval: any,
  },
  { requiredKeys: [] },
);

/** Reports that are valid by construction, to check they are stored exactly as sent. */
const cleanName = str(64).map((s) => s.trim()).filter((s) => text(s, 64));
const validReport = fc.record(
  {
    claude_name: cleanName,
    mode: fc.constantFrom("autonomy", "collaboration"),
    cache_read_increment: fc.maxSafeNat(),
    cost_delta: fc.option(fc.double({ min: 0, max: 1e9, noNaN: true }), { nil: null }),
    context_percentage: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
    hostname: fc.option(str(255).filter((s) => s === "" || text(s, 255)), { nil: null }),
  },
  { requiredKeys: ["claude_name", "mode", "cache_read_increment"] },
);

describe("arbitrary input to every write route", () => {
  it("never answers 5xx, stores only valid reports, and stores valid ones exactly as sent", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const one = "/resource-share/increment";
    const many = "/resource-share/increments";
    const stats = { tried: 0, fiveHundreds: 0, accepted: 0 };
    /** Every (agent, event id) key that must be in the table once, and how many rows without an event id. */
    const keys = new Set<string>();
    let withoutId = 0;

    async function send(url: string, body: string | Uint8Array): Promise<{ status: number; answer: any }> {
      stats.tried++;
      const res = await webhook.request(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      if (res.status >= 500) stats.fiveHundreds++;
      const raw = await res.text();
      let answer: any;
      try {
        answer = JSON.parse(raw);
      } catch {
        answer = raw;
      }
      return { status: res.status, answer };
    }

    /** Judges one answer against the oracle, and books what the table must now hold. */
    function judge(sent: unknown, status: number, answer: unknown): void {
      const reports = Array.isArray(sent) ? sent : [sent];
      const batchOk = Array.isArray(sent) && sent.length >= 1 && sent.length <= 5000;
      const valid = (Array.isArray(sent) ? batchOk : true) && reports.every((r) => isValidReport(r, Date.now()));
      expect({ sent, status, answer }).toMatchObject({ status: valid ? 200 : expect.any(Number) });
      expect(status).toBeLessThan(500);
      if (status !== 200) {
        expect([400, 413, 415]).toContain(status);
        return;
      }
      expect(valid).toBe(true);
      for (const r of reports as Record<string, unknown>[]) {
        stats.accepted++;
        if (absent(r.event_id)) withoutId++;
        else keys.add(JSON.stringify([(r.claude_name as string).trim(), r.event_id]));
      }
    }

    await fc.assert(
      fc.asyncProperty(fc.oneof(any, reportLike), async (value) => {
        const body = JSON.stringify(value) ?? "null";
        const { status, answer } = await send(one, body);
        judge(JSON.parse(body), status, answer);
      }),
      { numRuns: 1500 },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(any, fc.array(fc.oneof(reportLike, any), { maxLength: 4 })), async (value) => {
        const body = JSON.stringify(value) ?? "null";
        const { status, answer } = await send(many, body);
        judge(JSON.parse(body), status, answer);
      }),
      { numRuns: 800 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, batch) => {
        const { status, answer } = await send(batch ? many : one, bytes);
        let sent: unknown;
        try {
          sent = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          expect(status).toBe(400);
          return;
        }
        judge(sent, status, answer);
      }),
      { numRuns: 1000 },
    );

    // Valid reports come back from the table field for field.
    const stored: [Record<string, unknown>, number][] = [];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(validReport, async (report) => {
        const sent = { ...report, event_id: `valid-${n++}` };
        const { status, answer } = await send(one, JSON.stringify(sent));
        expect({ status, answer }).toMatchObject({ status: 200 });
        stored.push([sent, answer.id]);
        stats.accepted++;
        keys.add(JSON.stringify([sent.claude_name, sent.event_id]));
      }),
      { numRuns: 500 },
    );

    const db = await openDatabase({ url: `file:${path}` });
    try {
      const rows = await db.client.execute(
        "SELECT id, claude_name, mode, cache_read_increment, cost_delta, context_percentage, event_id, host FROM resource_share_increments",
      );
      const byId = new Map(rows.rows.map((r) => [Number(r.id), r]));
      for (const [sent, id] of stored) {
        expect({ ...byId.get(id) }).toEqual({
          id,
          claude_name: sent.claude_name,
          mode: sent.mode,
          cache_read_increment: sent.cache_read_increment,
          cost_delta: sent.cost_delta ?? null,
          context_percentage: sent.context_percentage ?? null,
          event_id: sent.event_id,
          host: sent.hostname ?? null,
        });
      }
      // Nothing stored that was refused, nothing stored twice.
      expect(rows.rows.length).toBe(keys.size + withoutId);
    } finally {
      db.close();
    }
    console.log(`property test: ${stats.tried} inputs tried, ${stats.accepted} valid reports accepted, ${keys.size + withoutId} rows stored, ${stats.fiveHundreds} answers 5xx`);
    expect(stats.fiveHundreds).toBe(0);
    expect(webhook.output()).not.toMatch(/^ERROR |    at /m); // no fault logged, no stack trace
    await webhook.close();
  }, 300_000); // about 4,000 requests
});
