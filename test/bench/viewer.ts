import { addDays } from "../../shared/time.ts";
import { freeLoopbackPorts, spawnListening } from "../support/process.ts";
import { deployedArguments } from "./deployed.ts";
import { median } from "./median.ts";
import type { History } from "./history.ts";
import { rssMb, sampleRss } from "./load.ts";

export interface ViewerResults {
  /** GET / on the history's database, in ms, each run after a warm-up. */
  dashboardMs: number[];
  export: {
    from: string;
    to: string;
    rows: number;
    bytes: number;
    seconds: number;
    /** Resident memory of the viewer before the export and at its peak, in MB. */
    rssBeforeMb: number;
    rssPeakMb: number;
  };
}

/** One GET as a client sees it: until the whole body has arrived, in ms. */
export async function timedGet(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  return performance.now() - started;
}

/**
 * The viewer as deployed (the systemd unit's node arguments, query-only) on the history's
 * database, after aggregateDay closed its days: the dashboard's time, and
 * a CSV export of `exportDays` days of increments (a million rows in the
 * full run) read to the end while the viewer's memory is sampled.
 */
export async function benchViewer(h: History, timeZone: string, exportDays: number, log: (line: string) => void): Promise<ViewerResults> {
  const [port] = await freeLoopbackPorts(1);
  const viewer = await spawnListening(deployedArguments("resource-share-web.service"), {
    env: { WEB_PORT: String(port), WEB_HOST: "127.0.0.1", DATABASE_URL: `file:${h.path}`, RESOURCE_SHARE_TZ: timeZone, LOG_LEVEL: "info" },
    keepOutput: false,
    logFile: `${h.path}.viewer.log`,
    timeoutMs: 60_000,
  });
  try {
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(viewer.url)) throw new Error(`the viewer should listen on loopback; got ${viewer.url}`);
    for (let i = 0; i < 2; i++) await timedGet(`${viewer.url}/`);
    const dashboardMs: number[] = [];
    for (let i = 0; i < 7; i++) dashboardMs.push(await timedGet(`${viewer.url}/`));
    log(`  dashboard: median ${median(dashboardMs).toFixed(0)} ms`);

    const from = addDays(h.to, -(exportDays - 1));
    const to = h.to;
    const pid = viewer.child.pid!;
    const rssBeforeMb = rssMb(pid);
    const rss = sampleRss(pid, 50);
    const started = performance.now();
    const res = await fetch(`${viewer.url}/tables/resource_share_increments/export/csv?from=${from}&to=${to}`);
    if (res.status !== 200 || !res.body) throw new Error(`export answered ${res.status}`);
    let bytes = 0;
    let lines = 0;
    // Read as a slow client would not: as fast as loopback allows, so the viewer has to keep up.
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
    }
    const seconds = (performance.now() - started) / 1000;
    const { peakMb } = rss.stop();
    const rows = lines - 1; // the header line
    log(`  export ${from}..${to}: ${rows.toLocaleString("en")} rows, ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s; RSS ${rssBeforeMb.toFixed(0)} -> peak ${peakMb.toFixed(0)} MB`);
    return { dashboardMs, export: { from, to, rows, bytes, seconds, rssBeforeMb, rssPeakMb: peakMb } };
  } finally {
    await viewer.stop();
  }
}
