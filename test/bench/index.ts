import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../support/process.ts";
import { benchAggregate, type AggregateResults } from "./aggregate.ts";
import { alertsFigures, benchAlerts } from "./alerts.ts";
import { median } from "./median.ts";
import { makeHistory } from "./history.ts";
import { benchIngest } from "./ingest.ts";
import { benchMetrics, type MetricsResults } from "./metrics.ts";
import { benchReporter } from "./reporter.ts";
import { benchReports, type ReportsResults } from "./reports.ts";
import { benchTelemetry } from "./telemetry.ts";
import { benchViewer, type ViewerResults } from "./viewer.ts";
import { benchRollups, rollupFigures } from "./rollups.ts";
import { benchServerViewer, serverViewerFigures } from "./server-viewer.ts";
import { renderTable, type Figure } from "./table.ts";

/**
 * `npm run bench [-- --quick] [-- --seed=N]`: measures the service against
 * references on this machine and prints one table; the figures also go to
 * bench-results/latest.json. Everything runs on loopback and stops by itself.
 */
interface Mode {
  name: "quick" | "full";
  ingestSeconds: number;
  /** Runs of each server at each connection count (figures are their medians). */
  ingestRounds: number;
  warmupSeconds: number;
  /** Length of the family's history for the aggregation figures. */
  historyDays: number;
  /** Days of increments the viewer exports (18 days of the family are about a million rows). */
  exportDays: number;
}

const QUICK: Mode = { name: "quick", ingestSeconds: 3, ingestRounds: 1, warmupSeconds: 1, historyDays: 7, exportDays: 2 };
const FULL: Mode = { name: "full", ingestSeconds: 20, ingestRounds: 3, warmupSeconds: 5, historyDays: 365, exportDays: 18 };
const AGENTS = 20;
const TIME_ZONE = "Europe/Berlin";

/** The parts of the benchmark, in the order they run; `--only=ingest,rollups` runs some of them. */
const PARTS = ["ingest", "metrics", "aggregate", "viewer", "server-viewer", "reports", "alerts", "reporter", "telemetry", "rollups"] as const;
type Part = (typeof PARTS)[number];

function parseArgs(argv: string[]): { mode: Mode; seed: number; only: Set<Part> } {
  let mode = FULL;
  let seed = 20261128;
  let only = new Set<Part>(PARTS);
  for (const arg of argv) {
    if (arg === "--quick") mode = QUICK;
    else if (/^--seed=\d+$/.test(arg)) seed = Number(arg.slice("--seed=".length));
    else if (arg.startsWith("--only=")) {
      const wanted = arg.slice("--only=".length).split(",");
      const unknown = wanted.filter((p) => !(PARTS as readonly string[]).includes(p));
      if (unknown.length > 0) {
        process.stderr.write(`Unknown part(s) ${unknown.join(", ")} in ${arg}. The parts are: ${PARTS.join(", ")}.\n`);
        process.exit(1);
      }
      only = new Set(wanted as Part[]);
    } else {
      process.stderr.write(`Unknown option ${arg}. Use --quick (about 6 minutes), --seed=N and/or --only=${PARTS.join(",")}.\n`);
      process.exit(1);
    }
  }
  return { mode, seed, only };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** `uptime` as a person would read it: how busy the machine was. */
const uptime = () => execFileSync("uptime", { encoding: "utf8" }).trim();

function machine() {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main(): Promise<void> {
  const { mode, seed, only } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const loadBefore = loadavg();
  const uptimeBefore = uptime();
  const figures: Figure[] = [];
  const raw: Record<string, unknown> = {};
  const scratch = mkdtempSync(join(tmpdir(), "rs-bench-"));
  try {
    if (only.has("ingest")) {
      log(`ingest (${mode.ingestRounds} x ${mode.ingestSeconds} s per server and connection count, in turn; figures are medians):`);
      const ingest = await benchIngest(
        { seed, seconds: mode.ingestSeconds, rounds: mode.ingestRounds, warmupSeconds: mode.warmupSeconds, databasePath: join(scratch, "ingest.db"), timeZone: TIME_ZONE },
        log,
      );
      raw.ingest = ingest;
      figures.push(...ingestFigures(ingest));
    }

    if (only.has("metrics")) {
      log("\nmetrics (GET /metrics):");
      const metrics = await benchMetrics(scratch, TIME_ZONE, log);
      raw.metrics = metrics;
      figures.push(...metricsFigures(metrics));
    }

    log(`\nhistory (${AGENTS} agents, ${mode.historyDays} days):`);
    const history = await makeHistory(join(ROOT, "bench-results"), seed, AGENTS, mode.historyDays, TIME_ZONE, log);
    raw.history = { ...history, agents: history.agents.length };
    if (only.has("aggregate")) {
      const aggregate = await benchAggregate(history, TIME_ZONE, log);
      raw.aggregate = aggregate;
      figures.push(...aggregateFigures(aggregate));
    }

    if (only.has("viewer")) {
      log("\nviewer:");
      const viewer = await benchViewer(history, TIME_ZONE, mode.exportDays, log);
      raw.viewer = viewer;
      figures.push(...viewerFigures(viewer, history.rows));
    }

    if (only.has("server-viewer")) {
      log("\nthe viewer on a libSQL server (the history's database, served by sqld; the file itself for reference):");
      const serverViewer = await benchServerViewer(history, scratch, TIME_ZONE, log);
      raw.serverViewer = serverViewer;
      figures.push(...serverViewerFigures(serverViewer));
    }

    if (only.has("alerts")) {
      log(`\nalerts (every rule, 50 agents, ${mode.historyDays} days):`);
      const alerts = await benchAlerts(seed, mode.historyDays, TIME_ZONE, log);
      raw.alerts = alerts;
      figures.push(...alertsFigures(alerts));
    }

    if (only.has("reports")) {
      log("\nreports (the viewer's month page):");
      const reports = await benchReports(history, TIME_ZONE, log);
      raw.reports = reports;
      figures.push(...reportsFigures(reports, mode.historyDays));
    }

    if (only.has("reporter")) {
      log("\nreporter (runner report):");
      const reporter = await benchReporter({ sizeMb: mode.name === "quick" ? 100 : 1000, steadySeconds: mode.name === "quick" ? 20 : 60 }, log);
      raw.reporter = reporter.raw;
      figures.push(...reporter.figures);
    }

    if (only.has("telemetry")) {
      log("\ntelemetry (POST /v1/metrics and the nightly comparison):");
      const telemetry = await benchTelemetry({ seconds: mode.ingestSeconds, seed }, log);
      raw.telemetry = telemetry.raw;
      figures.push(...telemetry.figures);
    }

    if (only.has("rollups")) {
      log("\nlive reads on a day of 1,000 agents (hourly rollup):");
      const rollups = await benchRollups(log);
      raw.rollups = rollups;
      figures.push(...rollupFigures(rollups));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const table = renderTable(figures);
  process.stdout.write(`${table}\n`);
  const results = {
    mode: mode.name,
    seed,
    at: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    machine: machine(),
    loadAverage: { before: loadBefore, after: loadavg() },
    uptime: { before: uptimeBefore, after: uptime() },
    figures,
    raw,
    table,
  };
  const dir = join(ROOT, "bench-results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  log(`\n${mode.name} run took ${results.seconds} s on ${results.machine.cores} x ${results.machine.cpu}, Node ${results.machine.node}`);
  log(`uptime before: ${uptimeBefore}`);
  log(`uptime after:  ${results.uptime.after}`);
  log("results in bench-results/latest.json");
  if (figures.some((f) => f.met === false)) process.exitCode = 3;
}

function ingestFigures(r: Awaited<ReturnType<typeof benchIngest>>): Figure[] {
  const { bare, webhook } = r;
  const rps = webhook.c10.reqPerSec / bare.c10.reqPerSec;
  const rss = webhook.c10.peakRssMb - bare.c10.peakRssMb;
  const failed = Object.values(webhook.c10.failures).reduce((a, b) => a + b, 0) + webhook.c10.errors;
  return [
    { name: "ingest req/s, 10 conn.", value: webhook.c10.reqPerSec, unit: "req/s", reference: "bare hono endpoint", referenceValue: bare.c10.reqPerSec, ratio: rps, target: ">= 0.5", met: rps >= 0.5 },
    { name: "ingest p99, 10 conn.", value: webhook.c10.p99Ms, unit: "ms", reference: "target", referenceValue: 3, ratio: webhook.c10.p99Ms / 3, target: "< 3 ms", met: webhook.c10.p99Ms < 3 },
    { name: "ingest p99, 1 conn.", value: webhook.c1.p99Ms, unit: "ms", reference: "target", referenceValue: 1, ratio: webhook.c1.p99Ms / 1, target: "< 1 ms", met: webhook.c1.p99Ms < 1 },
    { name: "ingest req/s, 1 conn.", value: webhook.c1.reqPerSec, unit: "req/s", reference: "bare hono endpoint", referenceValue: bare.c1.reqPerSec, ratio: webhook.c1.reqPerSec / bare.c1.reqPerSec, target: "(info)", met: null },
    { name: "peak RSS under load", value: webhook.c10.peakRssMb, unit: "MB", reference: "bare hono endpoint", referenceValue: bare.c10.peakRssMb, ratio: webhook.c10.peakRssMb / bare.c10.peakRssMb, target: `+${rss.toFixed(1)} MB <= +20 MB`, met: rss <= 20 },
    { name: "peak RssAnon under load", value: webhook.c10.peakRssAnonMb, unit: "MB", reference: "bare hono endpoint", referenceValue: bare.c10.peakRssAnonMb, ratio: webhook.c10.peakRssAnonMb / bare.c10.peakRssAnonMb, target: `(info) +${(webhook.c10.peakRssAnonMb - bare.c10.peakRssAnonMb).toFixed(1)} MB`, met: null },
    // Requests still in flight when a run's time is up are stored but not
    // counted as answered, so there may be a few more rows than 200s, never fewer.
    { name: "rows stored per 200", value: r.rowsStored, unit: "rows", reference: "200 answers", referenceValue: r.acknowledged, ratio: r.rowsStored / r.acknowledged, target: ">= 1, no failures", met: r.rowsStored >= r.acknowledged && failed === 0 },
    {
      name: "ingest req/s, 10 conn., on sqld",
      value: r.sqld.c10.reqPerSec,
      unit: "req/s",
      reference: "embedded file",
      referenceValue: webhook.c10.reqPerSec,
      ratio: r.sqld.c10.reqPerSec / webhook.c10.reqPerSec,
      target: `(info) p99 ${r.sqld.c10.p99Ms.toFixed(1)} ms`,
      met: null,
    },
    {
      name: "ingest req/s, 10 conn., DURABILITY=full",
      value: r.full.c10.reqPerSec,
      unit: "req/s",
      reference: "DURABILITY=normal",
      referenceValue: webhook.c10.reqPerSec,
      ratio: r.full.c10.reqPerSec / webhook.c10.reqPerSec,
      target: `(info) p99 ${r.full.c10.p99Ms.toFixed(1)} ms (normal ${webhook.c10.p99Ms.toFixed(1)} ms)`,
      met: null,
    },
    { name: "rows stored per 200, full", value: r.full.rowsStored, unit: "rows", reference: "200 answers", referenceValue: r.full.acknowledged, ratio: r.full.rowsStored / r.full.acknowledged, target: ">= 1", met: r.full.rowsStored >= r.full.acknowledged },
    { name: "rows stored per 200, sqld", value: r.sqld.rowsStored, unit: "rows", reference: "200 answers", referenceValue: r.sqld.acknowledged, ratio: r.sqld.rowsStored / r.sqld.acknowledged, target: ">= 1", met: r.sqld.rowsStored >= r.sqld.acknowledged },
    { name: "server CPU per request", value: webhook.c10.cpuMsPerRequest * 1000, unit: "us", reference: "bare hono endpoint", referenceValue: bare.c10.cpuMsPerRequest * 1000, ratio: webhook.c10.cpuMsPerRequest / bare.c10.cpuMsPerRequest, target: "(info)", met: null },
    { name: "load generator's CPU, 10 conn.", value: webhook.c10.clientCores, unit: "cores", reference: "bare hono endpoint", referenceValue: bare.c10.clientCores, ratio: webhook.c10.clientCores / bare.c10.clientCores, target: "(info)", met: null },
  ];
}

function aggregateFigures(a: AggregateResults): Figure[] {
  const reference = Math.min(...a.sqlite3Seconds);
  const ratio = a.catchUpSeconds / reference;
  const q = median(a.queryDailyMs);
  const rows = `${(a.rows / 1e6).toFixed(1)}M rows`;
  return [
    { name: `aggregateDay catch-up, ${a.days} days, ${rows}`, value: a.catchUpSeconds, unit: "s", reference: "sqlite3 CLI, same per-day sums", referenceValue: reference, ratio, target: "<= 1.5", met: ratio <= 1.5 },
    { name: `queryDaily, ${AGENTS} agents x ${a.days} days`, value: q, unit: "ms", reference: "target", referenceValue: 50, ratio: q / 50, target: "< 50 ms", met: q < 50 },
  ];
}

function viewerFigures(v: ViewerResults, historyRows: number): Figure[] {
  const d = median(v.dashboardMs);
  const growth = v.export.rssPeakMb - v.export.rssBeforeMb;
  const rows = `${(v.export.rows / 1e6).toFixed(2)}M rows`;
  return [
    { name: `viewer dashboard, ${(historyRows / 1e6).toFixed(1)}M-row database`, value: d, unit: "ms", reference: "target", referenceValue: 200, ratio: d / 200, target: "< 200 ms", met: d < 200 },
    { name: `viewer CSV export, ${rows}: RSS growth`, value: growth, unit: "MB", reference: "target", referenceValue: 50, ratio: growth / 50, target: "< 50 MB", met: growth < 50 },
    { name: `viewer CSV export, ${rows}: speed`, value: v.export.rows / v.export.seconds, unit: "rows/s", reference: "(info)", referenceValue: Number.NaN, ratio: Number.NaN, target: "(info)", met: null },
  ];
}

function reportsFigures(r: ReportsResults, historyDays: number): Figure[] {
  const m = median(r.monthPageMs);
  const hours = median(r.hoursReadMs);
  return [
    { name: `monthly report page, ${AGENTS} agents, ${historyDays}-day history`, value: m, unit: "ms", reference: "target", referenceValue: 200, ratio: m / 200, target: "< 200 ms", met: m < 200 },
    { name: "  of which the hourly read (the rollup)", value: hours, unit: "ms", reference: "(info)", referenceValue: Number.NaN, ratio: Number.NaN, target: "(info)", met: null },
  ];
}

function metricsFigures(r: MetricsResults): Figure[] {
  const m = median(r.scrapeMs);
  return [{ name: `GET /metrics, ${r.agents} agents, ${(r.reportsToday / 1e3).toFixed(0)}k reports today`, value: m, unit: "ms", reference: "target", referenceValue: 20, ratio: m / 20, target: "< 20 ms", met: m < 20 }];
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
