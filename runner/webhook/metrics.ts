import { CONTENT_TYPE, Counter, Histogram, Series, type Family } from "./exposition.ts";
import type { DayRow } from "../../functions/daySums.ts";
import type { WindowNow } from "../../functions/advice/windows.ts";
import type { FailureCode } from "../../shared/result.ts";
import type { Logger } from "../platform/log.ts";
import { FAILURE_CODES } from "../platform/outcome.ts";

/**
 * The webhook's Prometheus metrics (GET /metrics; docs/metrics.md names
 * them). Two kinds, kept apart so that scraping never slows ingest:
 * - counted on the request path: plain counter increments and one
 *   histogram observation per group commit, nothing else;
 * - read when scraped: the spool's backlog, each agent's day so far and
 *   the quota windows, read once per scrape (concurrent scrapes share it),
 *   on the read connection, never the writer's.
 */

/** Series per agent and mode are capped here; the agents past the cap (the least busy today) are summed under OTHER_AGENTS. */
export const MAX_AGENT_SERIES = 200;
/** The label value of the agents past the cap. A name no agent is likely to take; see docs/metrics.md. */
export const OTHER_AGENTS = "(others)";

/** A reading of one series of a gauge. */
export interface GaugeReading {
  labels?: Record<string, string>;
  value: number;
}

/**
 * A gauge read at scrape time, added by a feature that has something to
 * show (the alerts: firing ones). `read` runs once per scrape; a failure
 * there leaves the gauge empty and the rest of the scrape intact.
 */
export interface ExtraGauge {
  name: string;
  help: string;
  labelNames?: string[];
  read: () => Promise<GaugeReading[]> | GaugeReading[];
}

/** What a scrape reads: the spool now, today per agent, the windows now. */
export interface ScrapeSources {
  spool: () => { backlog: number; oldestReceivedAt: string | undefined };
  today: () => Promise<DayRow[]>;
  windows: () => Promise<WindowNow[]>;
  now: () => Date;
}

export interface WebhookMetrics {
  /** Reports answered 200 that were new (stored or spooled). */
  accepted(count: number): void;
  /** Reports answered 200 that repeated an event id already stored (nothing changed). */
  duplicates(count: number): void;
  /** A write request refused, by its failure code. */
  refused(code: FailureCode): void;
  /** One group commit took this long (seconds). */
  committed(seconds: number): void;
  /** The hook for gauges read at scrape time (e.g. firing alerts). */
  addGauge(gauge: ExtraGauge): void;
  /** The exposition text and its Content-Type. */
  scrape(sources: ScrapeSources): Promise<{ text: string; contentType: string }>;
}

const MODES = [
  ["autonomy", "autonomous"],
  ["collaboration", "collaborative"],
] as const;

/** Commits take a fraction of a millisecond to a few ms; a locked database up to its busy timeout. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** `log` hears a part of a scrape that could not be read (the database, or an added gauge's read, failed). */
export function webhookMetrics(log?: Pick<Logger, "warn">): WebhookMetrics {
  const families: Family[] = [];
  const add = <F extends Family>(family: F): F => {
    families.push(family);
    return family;
  };

  const accepted = add(new Counter("resource_share_reports_accepted_total", "Reports answered 200 that were new: committed, or durable in the spool. Duplicates are not counted here."));
  const duplicates = add(new Counter("resource_share_reports_duplicate_total", "Reports answered 200 that repeated an event id already stored; they changed nothing."));
  const refused = add(new Series("resource_share_write_requests_refused_total", "Write requests (/resource-share/increment and /increments) refused, by failure code (the error field of the reply).", "counter", ["reason"]));
  // Every reason from the start, so that rate() sees the first refusal of each.
  for (const code of FAILURE_CODES) refused.inc({ reason: code }, 0);
  const commit = add(new Histogram("resource_share_commit_seconds", "Time of one group commit of reports to the database (one transaction for the reports of concurrent requests).", COMMIT_BUCKETS));

  const backlog = add(new Series("resource_share_spool_backlog_reports", "Reports acknowledged but not yet in the database (waiting in the spool).", "gauge"));
  const oldest = add(new Series("resource_share_spool_oldest_age_seconds", "How long the oldest report in the spool has waited; 0 when the spool is empty.", "gauge"));
  const perAgent = (what: string) => `${what} reported today (local day) per agent and mode; at most ${MAX_AGENT_SERIES} agents, the rest summed as agent="${OTHER_AGENTS}".`;
  const tokens = add(new Series("resource_share_agent_tokens_today", perAgent("Tokens"), "gauge", ["agent", "mode"]));
  const cost = add(new Series("resource_share_agent_cost_usd_today", perAgent("Cost in USD"), "gauge", ["agent", "mode"]));
  const capped = add(new Series("resource_share_agents_past_series_cap", `Agents with usage today that are summed under agent="${OTHER_AGENTS}" (past the cap of ${MAX_AGENT_SERIES}).`, "gauge"));
  const used = add(new Series("resource_share_quota_window_used_percent", "Each quota window's used % now: the last reading plus the family's usage since (see resource_share_quota_window_estimated).", "gauge", ["window"]));
  const estimated = add(new Series("resource_share_quota_window_estimated", "1 when the window's used % is not a reading as such (usage since the reading added, or a configured budget), else 0.", "gauge", ["window"]));
  const scrapeFailed = add(new Series("resource_share_metrics_read_failed", "1 for each part of this scrape that could not be read from the database (its gauges are left out), else 0.", "gauge", ["part"]));

  const extras: { name: string; gauge: Series; read: ExtraGauge["read"] }[] = [];

  /** Sets gauges from a reading made now, or leaves them empty (never last scrape's figures) and says so. */
  async function readInto(part: string, gauges: Series[], read: () => Promise<void>): Promise<void> {
    for (const gauge of gauges) gauge.reset();
    try {
      await read();
      scrapeFailed.set({ part }, 0);
    } catch (err) {
      scrapeFailed.set({ part }, 1);
      log?.warn(`GET /metrics: cannot read ${part} (${(err as Error).message}); its gauges are left out of this scrape, resource_share_metrics_read_failed{part="${part}"} is 1`);
    }
  }

  function setAgents(rows: DayRow[]): void {
    // The busiest agents keep their own series; a quiet tail shares one.
    const sorted = [...rows].sort((a, b) => b.total_tokens - a.total_tokens || b.total_cost - a.total_cost || (a.claude_name < b.claude_name ? -1 : 1));
    for (const [i, row] of sorted.entries()) {
      const agent = i < MAX_AGENT_SERIES ? row.claude_name : OTHER_AGENTS;
      for (const [mode, prefix] of MODES) {
        tokens.inc({ agent, mode }, row[`${prefix}_tokens`]);
        cost.inc({ agent, mode }, row[`${prefix}_cost`]);
      }
    }
    capped.set({}, Math.max(0, sorted.length - MAX_AGENT_SERIES));
  }

  function setWindows(windows: WindowNow[]): void {
    for (const w of windows) {
      used.set({ window: w.window }, w.used_percentage);
      estimated.set({ window: w.window }, w.estimated ? 1 : 0);
    }
  }

  // Concurrent scrapes share one reading: a burst of them costs one read.
  let inFlight: Promise<{ text: string; contentType: string }> | undefined;

  async function scrapeOnce(sources: ScrapeSources): Promise<{ text: string; contentType: string }> {
    const spool = sources.spool();
    backlog.set({}, spool.backlog);
    const since = spool.oldestReceivedAt === undefined ? Number.NaN : Date.parse(spool.oldestReceivedAt);
    oldest.set({}, Number.isNaN(since) ? 0 : Math.max(0, (sources.now().getTime() - since) / 1000));
    await readInto("agents_today", [tokens, cost, capped], async () => setAgents(await sources.today()));
    await readInto("quota_windows", [used, estimated], async () => setWindows(await sources.windows()));
    for (const extra of extras)
      await readInto(extra.name, [extra.gauge], async () => {
        const readings = await extra.read();
        for (const r of readings) extra.gauge.set(r.labels ?? {}, r.value);
      });
    return { text: families.map((f) => f.text()).join("\n"), contentType: CONTENT_TYPE };
  }

  return {
    accepted: (count) => accepted.inc(count),
    duplicates: (count) => duplicates.inc(count),
    refused: (code) => refused.inc({ reason: code }),
    committed: (seconds) => commit.observe(seconds),
    addGauge({ name, help, labelNames = [], read }) {
      extras.push({ name, gauge: add(new Series(name, help, "gauge", labelNames)), read });
    },
    scrape(sources) {
      inFlight ??= scrapeOnce(sources).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
