import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { webhookMetrics, MAX_AGENT_SERIES, OTHER_AGENTS } from "../../../runner/webhook/metrics.ts";
import { webhookApp } from "../../support/apps.ts";
import { holdWriteLock, sqlite3, tempDatabasePath } from "../../support/database.ts";
import { parseMetrics, sample, type Family } from "../../support/prometheus.ts";

const UTC = { RESOURCE_SHARE_TZ: "UTC" };

async function scrape(app: { request(path: string, init?: RequestInit): Promise<Response> }, headers: Record<string, string> = {}) {
  const res = await app.request("/metrics", { headers });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type"), text, families: res.status === 200 ? parseMetrics(text) : new Map<string, Family>() };
}

const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`scraper:${password}`).toString("base64")}` });

describe("GET /metrics", () => {
  it("counts accepted reports, duplicates and refusals by their failure code, as a Prometheus parser reads them", async () => {
    const webhook = await webhookApp({ DATABASE_URL: `file:${tempDatabasePath()}`, ...UTC });
    const report = { claude_name: "Sparkle-Orange", cache_read_increment: 100, mode: "autonomy" };
    expect((await webhook.post("/resource-share/increment", { ...report, event_id: "a-1" })).status).toBe(200);
    expect((await webhook.post("/resource-share/increment", { ...report, event_id: "a-1" })).status).toBe(200); // a duplicate
    const batch = await webhook.post("/resource-share/increments", [
      { ...report, event_id: "a-2" },
      { ...report, event_id: "a-1" }, // a duplicate inside a batch
      { ...report, event_id: "a-3" },
    ]);
    expect(batch.body).toMatchObject({ stored: 2, duplicates: 1 });
    expect((await webhook.post("/resource-share/increment", { ...report, mode: "vacation" })).status).toBe(400);
    expect((await webhook.post("/resource-share/increments", [{ ...report, cache_read_increment: -1 }])).status).toBe(400);
    expect((await webhook.post("/resource-share/increment", "{not json")).status).toBe(400);
    expect((await webhook.post("/resource-share/increment", report, { authorization: "Bearer not-a-token" })).status).toBe(401);
    const plain = await webhook.request("/resource-share/increment", { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify(report) });
    expect(plain.status).toBe(415);
    const huge = await webhook.post("/resource-share/increment", { ...report, hostname: "x".repeat(70_000) });
    expect(huge.status).toBe(413);

    const { status, contentType, families } = await scrape(webhook);
    expect(status).toBe(200);
    expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(sample(families, "resource_share_reports_accepted_total")).toBe(3);
    expect(sample(families, "resource_share_reports_duplicate_total")).toBe(2);
    const refused = (reason: string) => sample(families, "resource_share_write_requests_refused_total", { reason });
    expect(refused("invalid_input")).toBe(2);
    expect(refused("invalid_json")).toBe(1);
    expect(refused("unauthorized")).toBe(1);
    expect(refused("unsupported_media_type")).toBe(1);
    expect(refused("payload_too_large")).toBe(1);
    expect(refused("unavailable")).toBe(0);
    expect(families.get("resource_share_write_requests_refused_total")?.type).toBe("COUNTER");

    // Every write that reached the database was one group commit or more, each observed once.
    const commits = families.get("resource_share_commit_seconds")!;
    expect(commits.type).toBe("HISTOGRAM");
    const [histogram] = commits.metrics;
    expect(Number(histogram!.count)).toBeGreaterThanOrEqual(3);
    expect(Number(histogram!.buckets!["+Inf"])).toBe(Number(histogram!.count));
    // Cumulative: a bucket holds every commit of the smaller ones (an object's keys are not in le order: sort them).
    const counts = Object.entries(histogram!.buckets!)
      .map(([le, n]) => [le === "+Inf" ? Infinity : Number(le), Number(n)] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, n]) => n);
    expect(counts).toHaveLength(12);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it("shows each agent's tokens and cost today by mode, names with quotes and backslashes intact, and the quota windows", async () => {
    const webhook = await webhookApp({ DATABASE_URL: `file:${tempDatabasePath()}`, ...UTC });
    const odd = 'Back\\slash "Quoted" Agent';
    const sent = [
      { claude_name: odd, cache_read_increment: 1200, cost_delta: 0.25, mode: "autonomy" },
      { claude_name: odd, cache_read_increment: 34, cost_delta: 0.5, mode: "collaboration" },
      { claude_name: odd, cache_read_increment: 6, mode: "autonomy" },
      { claude_name: "Quiet-Teal", cost_delta: 1.125, mode: "collaboration" },
    ];
    expect((await webhook.post("/resource-share/increments", sent)).status).toBe(200);
    const resetsAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
    expect((await webhook.post("/resource-share/quota", { window: "seven_day", used_percentage: 63.5, resets_at: resetsAt })).status).toBe(200);
    // A scrape reads the family's state in memory without reloading it; a read a person makes reloads it.
    expect((await webhook.request("/resource/quota")).status).toBe(200);

    const { families, text } = await scrape(webhook);
    const tokens = (agent: string, mode: string) => sample(families, "resource_share_agent_tokens_today", { agent, mode });
    const cost = (agent: string, mode: string) => sample(families, "resource_share_agent_cost_usd_today", { agent, mode });
    expect(tokens(odd, "autonomy")).toBe(1206);
    expect(tokens(odd, "collaboration")).toBe(34);
    expect(cost(odd, "autonomy")).toBe(0.25);
    expect(cost(odd, "collaboration")).toBe(0.5);
    expect(tokens("Quiet-Teal", "collaboration")).toBe(0);
    expect(cost("Quiet-Teal", "collaboration")).toBe(1.125);
    expect(families.get("resource_share_agent_tokens_today")?.metrics).toHaveLength(4);
    // Escaped as the format says, not merely parsed back.
    expect(text).toContain('agent="Back\\\\slash \\"Quoted\\" Agent"');
    expect(sample(families, "resource_share_quota_window_used_percent", { window: "seven_day" })).toBe(63.5);
    expect(sample(families, "resource_share_quota_window_estimated", { window: "seven_day" })).toBe(0);
    expect(sample(families, "resource_share_agents_past_series_cap")).toBe(0);
    expect(sample(families, "resource_share_metrics_read_failed", { part: "agents_today" })).toBe(0);
  });

  it("counts the alerts firing now by rule, every rule named", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}`, ...UTC });
    sqlite3(
      path,
      `INSERT INTO alerts (rule, subject, state, since, summary, details) VALUES
         ('silent_agent', 'A', 'firing', '2026-12-05T01:00:00Z', 'A is silent', '{}'),
         ('silent_agent', 'B', 'firing', '2026-12-05T01:00:00Z', 'B is silent', '{}'),
         ('silent_agent', 'C', 'resolved', '2026-12-04T01:00:00Z', 'C was silent', '{}'),
         ('window_threshold', 'seven_day', 'firing', '2026-12-05T01:00:00Z', 'past 50%', '{}');`,
    );
    const { families } = await scrape(webhook);
    expect(sample(families, "resource_share_alerts_firing", { rule: "silent_agent" })).toBe(2);
    expect(sample(families, "resource_share_alerts_firing", { rule: "window_threshold" })).toBe(1);
    expect(sample(families, "resource_share_alerts_firing", { rule: "day_not_closed" })).toBe(0);
  });

  it(`keeps a series of their own for the ${MAX_AGENT_SERIES} busiest agents and sums the rest as agent="${OTHER_AGENTS}"`, async () => {
    const webhook = await webhookApp({ DATABASE_URL: `file:${tempDatabasePath()}`, ...UTC });
    const count = MAX_AGENT_SERIES + 3;
    // Agent i reported 1000 + i tokens: the three quietest (i = 0, 1, 2) go past the cap.
    const reports = Array.from({ length: count }, (_, i) => ({ claude_name: `agent-${String(i).padStart(3, "0")}`, cache_read_increment: 1000 + i, mode: "autonomy" }));
    expect((await webhook.post("/resource-share/increments", reports)).status).toBe(200);

    const { families } = await scrape(webhook);
    const series = families.get("resource_share_agent_tokens_today")!.metrics.filter((m) => m.labels?.mode === "autonomy");
    expect(series).toHaveLength(MAX_AGENT_SERIES + 1);
    expect(sample(families, "resource_share_agent_tokens_today", { agent: OTHER_AGENTS, mode: "autonomy" })).toBe(1000 + 1001 + 1002);
    expect(sample(families, "resource_share_agent_tokens_today", { agent: "agent-000", mode: "autonomy" })).toBeUndefined();
    expect(sample(families, "resource_share_agent_tokens_today", { agent: "agent-003", mode: "autonomy" })).toBe(1003);
    expect(sample(families, "resource_share_agents_past_series_cap")).toBe(3);
    const total = series.reduce((s, m) => s + Number(m.value), 0);
    expect(total).toBe(reports.reduce((s, r) => s + r.cache_read_increment, 0));
  });

  it("shows the spool's backlog and the age of its oldest report while the database is locked, and zeros once applied", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}`, ...UTC });
    expect((await webhook.post("/resource-share/increment", { claude_name: "Sparkle-Orange", cache_read_increment: 1, mode: "autonomy" })).status).toBe(200);
    const lock = await holdWriteLock(path);
    const before = Date.now();
    const queued = await webhook.post("/resource-share/increments", [
      { claude_name: "Sparkle-Orange", cache_read_increment: 2, mode: "autonomy" },
      { claude_name: "Sparkle-Orange", cache_read_increment: 3, mode: "autonomy" },
    ]);
    expect(queued.body.results[0].queued).toBe(true);
    const held = await scrape(webhook);
    const waited = (Date.now() - before) / 1000;
    expect(sample(held.families, "resource_share_spool_backlog_reports")).toBe(2);
    const age = sample(held.families, "resource_share_spool_oldest_age_seconds")!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual(waited);
    expect(sample(held.families, "resource_share_reports_accepted_total")).toBe(3);

    await lock.release();
    await expect.poll(async () => ((await (await webhook.request("/health")).json()) as { spool: { backlog: number } }).spool.backlog, { timeout: 10_000 }).toBe(0);
    const applied = await scrape(webhook);
    expect(sample(applied.families, "resource_share_spool_backlog_reports")).toBe(0);
    expect(sample(applied.families, "resource_share_spool_oldest_age_seconds")).toBe(0);
    expect(sample(applied.families, "resource_share_agent_tokens_today", { agent: "Sparkle-Orange", mode: "autonomy" })).toBe(6);
  });

  it("counts a report that neither the database nor the spool could take as refused for unavailable", async () => {
    const path = tempDatabasePath();
    const spoolDir = join(dirname(path), "spool");
    mkdirSync(spoolDir);
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}`, SPOOL_DIR: spoolDir, ...UTC });
    // The spool directory is swapped for a file after start, and the database is locked: nothing durable can be written.
    rmSync(spoolDir, { recursive: true });
    writeFileSync(spoolDir, "");
    const lock = await holdWriteLock(path);
    const refused = await webhook.post("/resource-share/increment", { claude_name: "Locked-Out", cache_read_increment: 1, mode: "autonomy" });
    expect(refused.status).toBe(503);
    await lock.release();
    const { families } = await scrape(webhook);
    expect(sample(families, "resource_share_write_requests_refused_total", { reason: "unavailable" })).toBe(1);
    expect(sample(families, "resource_share_reports_accepted_total")).toBe(0);
  });

  describe("who may scrape", () => {
    it("is anyone on a loopback HOST", async () => {
      const webhook = await webhookApp({ DATABASE_URL: `file:${tempDatabasePath()}`, HOST: "127.0.0.1", WEB_PASSWORD: "s3cret", ...UTC });
      expect((await scrape(webhook)).status).toBe(200);
    });

    it("is nobody off loopback without WEB_PASSWORD, with a reply that says what to set", async () => {
      const webhook = await webhookApp({ DATABASE_URL: `file:${tempDatabasePath()}`, HOST: "0.0.0.0", ...UTC });
      const res = await webhook.request("/metrics");
      expect(res.status).toBe(401);
      const body = (await res.json()) as { message: string };
      expect(body).toMatchObject({ status: "error", error: "unauthorized" });
      expect(body.message).toContain("WEB_PASSWORD");
      expect((await scrape(webhook, basic("anything"))).status).toBe(401);
    });

    it("is whoever sends the viewer's password as HTTP Basic off loopback, and wrong passwords wait as in the viewer", async () => {
      const webhook = await webhookApp({ DATABASE_URL: `file:${tempDatabasePath()}`, HOST: "0.0.0.0", WEB_PASSWORD: "s3cret", ...UTC });
      const asked = await webhook.request("/metrics");
      expect(asked.status).toBe(401);
      expect(asked.headers.get("www-authenticate")).toBe('Basic realm="resource-share metrics"');
      expect((await scrape(webhook, basic("s3cret"))).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await scrape(webhook, basic("wrong"))).status).toBe(401);
      const waiting = await webhook.request("/metrics", { headers: basic("s3cret") });
      expect(waiting.status).toBe(429);
      expect(waiting.headers.get("retry-after")).not.toBeNull();
      expect(((await waiting.json()) as { error: string }).error).toBe("rate_limited");
    });
  });
});

describe("webhookMetrics", () => {
  it("shows gauges added through the hook, escaping \\\\, \\\" and newlines in label values exactly", async () => {
    const warnings: string[] = [];
    const metrics = webhookMetrics({ warn: (line: string) => warnings.push(line) });
    const value = 'line one\nsays "hi" \\ bye';
    metrics.addGauge({ name: "resource_share_test_alerts_firing", help: "Firing alerts (a test).", labelNames: ["alert"], read: () => [{ labels: { alert: value }, value: 2 }, { labels: { alert: "plain" }, value: 1 }] });
    metrics.addGauge({ name: "resource_share_test_help", help: 'A help text with a \\ and\na second line, "quoted".', read: () => [{ value: 0 }] });
    metrics.addGauge({ name: "resource_share_test_broken", help: "A gauge whose read fails.", labelNames: ["part"], read: () => Promise.reject(new Error("the database is gone")) });
    const { text } = await metrics.scrape({
      spool: () => ({ backlog: 0, oldestReceivedAt: undefined }),
      today: async () => [],
      windows: async () => [],
      now: () => new Date(),
    });
    expect(text).toContain('resource_share_test_alerts_firing{alert="line one\\nsays \\"hi\\" \\\\ bye"} 2');
    expect(text).toContain('# HELP resource_share_test_help A help text with a \\\\ and\\na second line, "quoted".\n');
    const families = parseMetrics(text);
    expect(sample(families, "resource_share_test_alerts_firing", { alert: value })).toBe(2);
    expect(families.get("resource_share_test_alerts_firing")?.help).toBe("Firing alerts (a test).");
    expect(families.get("resource_share_test_alerts_firing")?.type).toBe("GAUGE");
    expect(families.get("resource_share_test_broken")?.metrics ?? []).toHaveLength(0);
    expect(sample(families, "resource_share_metrics_read_failed", { part: "resource_share_test_broken" })).toBe(1);
    expect(warnings).toEqual([expect.stringContaining("cannot read resource_share_test_broken (the database is gone)")]);
    // Every family has its HELP and TYPE, and every sample line belongs to one.
    for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
      const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)![0].replace(/_(bucket|sum|count)$/, "");
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} `);
    }
  });
});
