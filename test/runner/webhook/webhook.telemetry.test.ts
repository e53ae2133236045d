import { describe, expect, it } from "vitest";
import { runHandler } from "../../../runner/platform/run-handler.ts";
import { webhookApp } from "../../support/apps.ts";
import { report } from "../../support/clients.ts";
import { testContext } from "../../support/context.ts";
import { openTestDatabase, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { costMetric, ns, otlpExport, sessionCountMetric, tokenMetric } from "../../support/otlp.ts";

const T0 = Date.parse("2026-12-04T10:00:00Z");
const at = (minutes: number) => ns(T0 + minutes * 60_000);

const points = (path: string) =>
  sqlite3Rows<{ claude_name: string; metric: string; type: string | null; model: string | null; value: number; time: string; date: string }>(
    path,
    "SELECT claude_name, metric, type, model, value, time, date FROM telemetry_points ORDER BY id",
  );
const total = (path: string, where = "1") =>
  sqlite3Rows<{ v: number | null }>(path, `SELECT total(value) AS v FROM telemetry_points WHERE ${where}`)[0]!.v;
const rowCount = (path: string, table: string) => sqlite3Rows<{ n: number }>(path, `SELECT count(*) AS n FROM ${table}`)[0]!.n;

async function webhook(extra: Record<string, string> = {}) {
  const path = tempDatabasePath();
  const app = await webhookApp({ DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC", ...extra });
  return { path, app, metrics: (body: unknown, headers: Record<string, string> = {}) => app.post("/v1/metrics", body, headers) };
}

describe("POST /v1/metrics (OTLP/HTTP JSON from Claude Code)", () => {
  it("keeps token usage by type and model and cost, attributed to the agent its resource names, and answers {}", async () => {
    const { path, metrics } = await webhook();
    for (const ints of ["string", "number"] as const) {
      const agent = ints === "string" ? "Sparkle-Orange" : "Sparkle-Blue";
      const res = await metrics(
        otlpExport(
          agent,
          [
            tokenMetric(1, [
              { time: at(1), start: at(0), value: 1200, type: "input" },
              { time: at(1), start: at(0), value: 300, type: "output" },
              { time: at(1), start: at(0), value: 50_000, type: "cacheRead" },
              { time: at(1), start: at(0), value: 2_000, type: "cacheCreation", model: "claude-opus-4-1", as: "double" },
            ], ints),
            costMetric(1, [{ time: at(1), start: at(0), value: 0.0421 }], ints),
            sessionCountMetric(at(1)),
          ],
          { ints },
        ),
      );
      expect(res).toEqual({ status: 200, body: {} });
    }
    const rows = points(path).filter((r) => r.claude_name === "Sparkle-Orange");
    expect(rows.map((r) => [r.metric, r.type, r.model, r.value])).toEqual([
      ["claude_code.token.usage", "input", "claude-sonnet-4-5", 1200],
      ["claude_code.token.usage", "output", "claude-sonnet-4-5", 300],
      ["claude_code.token.usage", "cacheRead", "claude-sonnet-4-5", 50_000],
      ["claude_code.token.usage", "cacheCreation", "claude-opus-4-1", 2_000],
      ["claude_code.cost.usage", null, "claude-sonnet-4-5", 0.0421],
    ]);
    expect(rows[0]).toMatchObject({ time: "2026-12-04T10:01:00.000Z", date: "2026-12-04" });
    // Integers as numbers read the same as integers as strings.
    expect(points(path).filter((r) => r.claude_name === "Sparkle-Blue").map((r) => r.value)).toEqual(rows.map((r) => r.value));
    // null for a list or a message is its default (empty), as the protobuf JSON mapping reads it.
    expect(await metrics({ resourceMetrics: [{ resource: null, scopeMetrics: [{ scope: null, metrics: null }] }] })).toEqual({ status: 200, body: {} });
    expect(await metrics({ resourceMetrics: null })).toEqual({ status: 200, body: {} });
    // Stored apart: not a report.
    expect(rowCount(path, "resource_share_increments")).toBe(0);
  });

  it("turns a cumulative series into deltas, and counts a restarted series (new start time, or a value going down) from zero", async () => {
    const { path, metrics } = await webhook();
    const cumulative = (minute: number, start: number, value: number) =>
      otlpExport("Sparkle-Orange", [tokenMetric(2, [{ time: at(minute), start: at(start), value, type: "cacheRead" }])]);
    const sent = [
      cumulative(1, 0, 100), // first point: all of it
      cumulative(2, 0, 250), // +150
      cumulative(3, 0, 250), // +0: nothing written
      cumulative(4, 3, 40), // restarted (new start): +40
      cumulative(5, 3, 90), // +50
      cumulative(6, 3, 20), // went down under the same start: restarted, +20
    ];
    for (const body of sent) expect((await metrics(body)).status).toBe(200);
    expect(points(path).map((r) => r.value)).toEqual([100, 150, 40, 50, 20]);
    expect(total(path)).toBe(360);
  });

  it("counts a retried export once, delta or cumulative, also when an older cumulative point arrives after a newer one", async () => {
    const { path, metrics } = await webhook();
    const delta = otlpExport("Sparkle-Orange", [
      tokenMetric(1, [{ time: at(1), start: at(0), value: 700, type: "output" }]),
      costMetric(1, [{ time: at(1), start: at(0), value: 0.5 }]),
    ]);
    const cumulative = (minute: number, value: number) => otlpExport("Sparkle-Orange", [tokenMetric(2, [{ time: at(minute), start: at(0), value, type: "input" }])]);
    for (const body of [delta, delta, cumulative(1, 10), cumulative(2, 30), cumulative(2, 30), cumulative(1, 10)]) expect((await metrics(body)).status).toBe(200);
    expect(total(path, "type = 'output'")).toBe(700);
    expect(total(path, "metric = 'claude_code.cost.usage'")).toBe(0.5);
    expect(total(path, "type = 'input'")).toBe(30);

    // A retry of an export from before a restart, arriving after it: still counted once, and the restarted series goes on from its own last point.
    const restarting = (minute: number, start: number, value: number) =>
      otlpExport("Sparkle-Orange", [tokenMetric(2, [{ time: at(minute), start: at(start), value, type: "cacheCreation" }])]);
    for (const body of [restarting(1, 0, 10), restarting(3, 2, 5), restarting(1, 0, 10), restarting(4, 2, 8)]) expect((await metrics(body)).status).toBe(200);
    expect(total(path, "type = 'cacheCreation'")).toBe(10 + 5 + 3);
  });

  it("lets an agent's token send telemetry only for that agent; a resource without the attribute is the token's agent", async () => {
    const path = tempDatabasePath();
    const issue = async (name: string) => {
      const database = await openTestDatabase(path);
      const out = await runHandler("issueToken", { claude_name: name, register: true }, testContext(database.db));
      database.close();
      if (!out.ok) throw new Error(out.error.message);
      return out.value.token;
    };
    const orange = await issue("Sparkle-Orange");
    await issue("Sparkle-Blue");
    const app = await webhookApp({ DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC", REQUIRE_TOKENS: "1" });
    const body = (agent: string | undefined, value: number) => otlpExport(agent, [tokenMetric(1, [{ time: at(value), value, type: "input" }])]);
    const bearer = { authorization: `Bearer ${orange}` };

    const asBlue = await app.post("/v1/metrics", body("Sparkle-Blue", 5), bearer);
    expect(asBlue.status).toBe(401);
    expect(asBlue.body.message).toMatch(/belongs to "Sparkle-Orange", not to "Sparkle-Blue"/);
    expect((await app.post("/v1/metrics", body("Sparkle-Orange", 6))).status).toBe(401);
    expect(rowCount(path, "telemetry_points")).toBe(0);

    expect(await app.post("/v1/metrics", body("Sparkle-Orange", 7), bearer)).toEqual({ status: 200, body: {} });
    expect(await app.post("/v1/metrics", body(undefined, 8), bearer)).toEqual({ status: 200, body: {} });
    expect(points(path).map((r) => [r.claude_name, r.value])).toEqual([["Sparkle-Orange", 7], ["Sparkle-Orange", 8]]);
  });

  it("answers partial success for points whose resource names no agent (without a token), storing the others", async () => {
    const { path, metrics } = await webhook();
    const named = otlpExport("Sparkle-Orange", [tokenMetric(1, [{ time: at(1), value: 10, type: "input" }])]);
    const unnamed = otlpExport(undefined, [tokenMetric(1, [{ time: at(1), value: 20, type: "input" }, { time: at(1), value: 30, type: "output" }])]);
    const res = await metrics({ resourceMetrics: [...named.resourceMetrics, ...unnamed.resourceMetrics] });
    expect(res.status).toBe(200);
    expect(res.body.partialSuccess.rejectedDataPoints).toBe("2");
    expect(res.body.partialSuccess.errorMessage).toMatch(/OTEL_RESOURCE_ATTRIBUTES=resource_share.claude_name=NAME/);
    expect(points(path).map((r) => r.value)).toEqual([10]);
  });

  it("takes exports at the same time as reports without pushing the reports into the spool", async () => {
    const { path, app, metrics } = await webhook();
    const exports = Array.from({ length: 100 }, (_, i) =>
      metrics(otlpExport(`Agent-${i % 5}`, [tokenMetric(2, [{ time: at(i + 1), start: at(0), value: 100 * (i + 1), type: "cacheRead", attrs: { "session.id": `s-${i % 5}` } }])])),
    );
    const reports = Array.from({ length: 500 }, () => app.post("/resource-share/increment", report("Sparkle-Orange")));
    const answers = await Promise.all([...exports, ...reports]);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.slice(100).filter((a) => a.body.queued)).toEqual([]);
    expect(app.output()).not.toMatch(/spool/);
    expect(rowCount(path, "resource_share_increments")).toBe(500);
    // Each agent's cumulative series ends at 100 * its last point's index: the deltas add up to it.
    expect(total(path)).toBe([96, 97, 98, 99, 100].reduce((s, n) => s + 100 * n, 0));
  });

  it("refuses each bad export with 400 naming the field, stores nothing, and the increment endpoint still works", async () => {
    const { path, app, metrics } = await webhook();
    const good = () => tokenMetric(1, [{ time: at(1), value: 10, type: "input" }]);
    const withSum = (sum: Record<string, unknown>) => otlpExport("Sparkle-Orange", [good(), { name: "claude_code.token.usage", sum }]);
    const pointWith = (p: Record<string, unknown>) => withSum({ aggregationTemporality: 1, dataPoints: [{ timeUnixNano: String(at(2)), ...p }] });
    const bad: [string, unknown, RegExp][] = [
      ["not JSON", "{resourceMetrics: [", /not valid JSON/],
      ["an array", [], /body: must be a JSON object/],
      ["resourceMetrics not an array", { resourceMetrics: { resource: {} } }, /resourceMetrics: must be an array/],
      ["a metric without a name", { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ sum: {} }] }] }] }, /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]\.name/],
      ["temporality unspecified (0)", withSum({ aggregationTemporality: 0, dataPoints: [] }), /metrics\[1\]\.sum\.aggregationTemporality: must be 1 \(delta\) or 2 \(cumulative\)/],
      ["temporality unknown (7)", withSum({ aggregationTemporality: 7, dataPoints: [] }), /sum\.aggregationTemporality: must be 1/],
      ["temporality by an unknown name", withSum({ aggregationTemporality: "AGGREGATION_TEMPORALITY_UNSPECIFIED", dataPoints: [] }), /sum\.aggregationTemporality/],
      ["temporality missing", withSum({ dataPoints: [] }), /sum\.aggregationTemporality: is required/],
      ["a token count kept as a gauge", otlpExport("Sparkle-Orange", [{ name: "claude_code.token.usage", gauge: { dataPoints: [] } }]), /metrics\[0\]\.sum: must be a sum/],
      ["a negative asInt", pointWith({ asInt: "-5" }), /sum\.dataPoints\[0\]\.asInt: must not be negative/],
      ["a negative asDouble", pointWith({ asDouble: -0.01 }), /dataPoints\[0\]\.asDouble: must not be negative/],
      ["asDouble NaN", pointWith({ asDouble: "NaN" }), /asDouble: must be a finite number/],
      ["an asInt that is not an integer", pointWith({ asInt: "12.5" }), /asInt: must be an integer/],
      ["no value", pointWith({}), /dataPoints\[0\]: must carry exactly one of asInt and asDouble/],
      ["no time", withSum({ aggregationTemporality: 1, dataPoints: [{ asInt: "5" }] }), /dataPoints\[0\]\.timeUnixNano/],
      ["a time of 0", withSum({ aggregationTemporality: 1, dataPoints: [{ asInt: "5", timeUnixNano: "0" }] }), /timeUnixNano: must be set/],
      ["an empty agent name", otlpExport("  ", [good()]), /resource\.attributes\[\d\]\.value\.stringValue: must not be empty/],
      ["an agent name that is not a string", otlpExport(undefined, [good()], { resource: { "resource_share.claude_name": 7 } }), /value\.stringValue: must be the agent's name/],
    ];
    for (const [what, body, message] of bad) {
      const res = await metrics(body);
      expect(res.status, what).toBe(400);
      expect(res.body.message, what).toMatch(message);
      expect(rowCount(path, "telemetry_points"), what).toBe(0);
      expect(rowCount(path, "telemetry_series"), what).toBe(0);
    }
    const protobuf = await app.request("/v1/metrics", { method: "POST", headers: { "content-type": "application/x-protobuf" }, body: "\x0a\x00" });
    expect(protobuf.status).toBe(415);
    expect(((await protobuf.json()) as { message: string }).message).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL=http\/json/);
    const gzip = await app.request("/v1/metrics", { method: "POST", headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "x" });
    expect(gzip.status).toBe(415);
    expect(rowCount(path, "telemetry_points")).toBe(0);

    const stored = await app.post("/resource-share/increment", report("Sparkle-Orange"));
    expect(stored.status).toBe(200);
    expect(stored.body.status).toBe("success");
  });
});
