import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { AggregationTemporalityPreference, OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { describe, expect, it } from "vitest";
import { sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { startRunner } from "../../support/server.ts";

/**
 * The real OpenTelemetry JS SDK and its OTLP/HTTP JSON exporter, which
 * Claude Code is built on, sending to a real `runner serve`: what the
 * webhook reads is what the field sends, not only what the tests build.
 */
function claudeCode(url: string, agent: string | undefined, temporality: "delta" | "cumulative") {
  const exporter: PushMetricExporter = new OTLPMetricExporter({
    url: `${url}/v1/metrics`,
    temporalityPreference: temporality === "delta" ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": "claude-code", ...(agent !== undefined ? { "resource_share.claude_name": agent } : {}) }),
    // Exports only when flushed: the test decides when.
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  const meter = provider.getMeter("com.anthropic.claude_code", "2.0.14");
  const tokens = meter.createCounter("claude_code.token.usage", { unit: "tokens" });
  const cost = meter.createCounter("claude_code.cost.usage", { unit: "USD" });
  const session = { "session.id": `session-${agent}-${temporality}`, model: "claude-sonnet-4-5" };
  return {
    use(cacheRead: number, usd: number) {
      tokens.add(cacheRead, { ...session, type: "cacheRead" });
      tokens.add(cacheRead / 10, { ...session, type: "output" });
      cost.add(usd, session);
    },
    flush: () => provider.forceFlush(),
    stop: () => provider.shutdown(),
  };
}

describe("Claude Code's exporter (the OpenTelemetry JS SDK) against the webhook", () => {
  it("is stored once per use, delta or cumulative, across flushes with nothing new and a restart of the process", async () => {
    const path = tempDatabasePath();
    const webhook = await startRunner("serve", { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC" });
    for (const temporality of ["delta", "cumulative"] as const) {
      const agent = `Exported-${temporality}`;
      const first = claudeCode(webhook.url, agent, temporality);
      first.use(1000, 0.25);
      await first.flush();
      first.use(500, 0.125);
      await first.flush();
      await first.flush(); // nothing new: a cumulative exporter sends the same totals again
      await first.stop();
      // Claude Code started again: a cumulative series starts from zero with a new start time.
      const second = claudeCode(webhook.url, agent, temporality);
      second.use(40, 0.5);
      await second.flush();
      await second.stop();
    }
    const sums = sqlite3Rows<{ claude_name: string; metric: string; type: string | null; v: number }>(
      path,
      "SELECT claude_name, metric, type, total(value) AS v FROM telemetry_points GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    );
    const expected = (agent: string) => [
      { claude_name: agent, metric: "claude_code.cost.usage", type: null, v: 0.875 },
      { claude_name: agent, metric: "claude_code.token.usage", type: "cacheRead", v: 1540 },
      { claude_name: agent, metric: "claude_code.token.usage", type: "output", v: 154 },
    ];
    expect(sums).toEqual([...expected("Exported-cumulative"), ...expected("Exported-delta")]);
    expect(webhook.output()).toMatch(/POST \/v1\/metrics 200/);
    expect(webhook.output()).not.toMatch(/POST \/v1\/metrics [45]\d\d/);
  });
});
