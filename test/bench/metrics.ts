import { join } from "node:path";
import { dayStarts, localDay } from "../../shared/time.ts";
import { freeLoopbackPorts, spawnListening } from "../support/process.ts";
import { deployedArguments } from "./deployed.ts";
import { median } from "./median.ts";

export interface MetricsResults {
  agents: number;
  /** Reports stored today before the scrapes. */
  reportsToday: number;
  /** GET /metrics, in ms, each run after a warm-up. */
  scrapeMs: number[];
  /** Bytes of one answer. */
  bytes: number;
}

export const METRICS_AGENTS = 50;
/** One report per agent every 30 s over a whole day: the busiest day the family's clients make. */
const REPORTS_PER_AGENT = 2880;
const BATCH = 5000;

/**
 * GET /metrics on the webhook as deployed (the systemd unit's node
 * arguments) with 50 agents that each sent a full day of reports today,
 * spread from local midnight to now, and readings of two quota windows: the
 * time of each scrape as a client sees it, sequential, after a warm-up.
 */
export async function benchMetrics(scratch: string, timeZone: string, log: (line: string) => void): Promise<MetricsResults> {
  const [port] = await freeLoopbackPorts(1);
  const webhook = await spawnListening(deployedArguments("resource-share-server.service"), {
    env: { PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: `file:${join(scratch, "metrics.db")}`, RESOURCE_SHARE_TZ: timeZone, LOG_LEVEL: "info" },
    keepOutput: false,
    waitFor: /listening on (http:\/\/[\d.:[\]]+)/,
  });
  try {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${webhook.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`);
    };
    const now = Date.now();
    const [start] = dayStarts([localDay(new Date(now), timeZone)], timeZone);
    const span = now - 1000 - start!;
    const reports = [];
    for (let a = 0; a < METRICS_AGENTS; a++)
      for (let i = 0; i < REPORTS_PER_AGENT; i++)
        reports.push({
          claude_name: `bench-agent-${String(a).padStart(2, "0")}`,
          mode: (a + i) % 3 === 0 ? "collaboration" : "autonomy",
          cache_read_increment: 1000 + ((a * 7919 + i * 104729) % 50_000),
          cost_delta: a % 2 === 0 ? 0.01 : null,
          timestamp: new Date(start! + Math.floor((span * i) / REPORTS_PER_AGENT)).toISOString(),
        });
    for (let i = 0; i < reports.length; i += BATCH) await post("/resource-share/increments", reports.slice(i, i + BATCH));
    const resetsAt = new Date(now + 3 * 86_400_000).toISOString();
    await post("/resource-share/quota", [
      { window: "seven_day", used_percentage: 41, resets_at: resetsAt },
      { window: "five_hour", used_percentage: 12, resets_at: new Date(now + 3_600_000).toISOString() },
    ]);

    const scrape = async () => {
      const started = performance.now();
      const res = await fetch(`${webhook.url}/metrics`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
      return { ms: performance.now() - started, bytes: Buffer.byteLength(text) };
    };
    for (let i = 0; i < 3; i++) await scrape();
    const scrapeMs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 20; i++) {
      const s = await scrape();
      scrapeMs.push(s.ms);
      bytes = s.bytes;
    }
    log(`  ${METRICS_AGENTS} agents, ${reports.length.toLocaleString("en")} reports today: /metrics median ${median(scrapeMs).toFixed(1)} ms, max ${Math.max(...scrapeMs).toFixed(1)} ms, ${bytes} bytes`);
    return { agents: METRICS_AGENTS, reportsToday: reports.length, scrapeMs, bytes };
  } finally {
    await webhook.stop();
  }
}
