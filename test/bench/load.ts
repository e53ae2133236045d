import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { median } from "./median.ts";

/** Resident memory of a process in MB (VmRSS, or another field of /proc/PID/status; Linux only). */
export function rssMb(pid: number, field = "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return kb ? Number(kb[1]) / 1024 : Number.NaN;
}

/** CPU time a process has used so far (user + system), in ms, from /proc. */
export function cpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th, in clock ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Samples a process's resident memory every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 100): { stop(): { peakMb: number; lastMb: number; peakAnonMb: number } } {
  let peakMb = rssMb(pid);
  let lastMb = peakMb;
  // Anonymous memory (heaps) without the mapped files (code of native libraries such as libSQL's).
  let peakAnonMb = rssMb(pid, "RssAnon");
  const timer = setInterval(() => {
    try {
      lastMb = rssMb(pid);
      peakMb = Math.max(peakMb, lastMb);
      peakAnonMb = Math.max(peakAnonMb, rssMb(pid, "RssAnon"));
    } catch {
      // The process ended; keep what was seen.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peakMb, lastMb, peakAnonMb };
    },
  };
}

export interface LoadResult {
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  /** Latencies of 200 answers, in ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ok: number;
  /** Answers other than 200, by status. */
  failures: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Peak resident memory of the server during the load, in MB: all (VmRSS) and anonymous only (RssAnon). */
  peakRssMb: number;
  peakRssAnonMb: number;
  /**
   * The server's CPU time per answered request, in ms: unlike req/s, it
   * hardly depends on what else the machine is doing.
   */
  cpuMsPerRequest: number;
  /**
   * Cores the load generator (autocannon, in this process) kept busy: near
   * 1, it rather than the server set the pace.
   */
  clientCores: number;
}

export interface LoadOptions {
  url: string;
  path: string;
  /** JSON bodies, posted in turn (each connection walks the list from its own start). */
  bodies: string[];
  connections: number;
  seconds: number;
  /** The server's pid, for memory samples. */
  pid: number;
}

/**
 * Posts `bodies` at a server over loopback from `connections` keep-alive
 * connections for `seconds`, one request in flight per connection.
 * Latency comes from autocannon's per-response times, kept here in full
 * because its own histogram counts whole milliseconds and the targets are
 * below one.
 */
export async function load({ url, path, bodies, connections, seconds, pid }: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`load targets loopback only; got ${url}`);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  const rss = sampleRss(pid);
  const cpuBefore = cpuMs(pid);
  const clientBefore = process.cpuUsage();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        timeout: 5, // the real clients give up after 5 s
        requests: [
          {
            method: "POST",
            path,
            headers: { "content-type": "application/json" },
            setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) latencies.push(ms);
      else failures[status] = (failures[status] ?? 0) + 1;
    });
  });
  const { peakMb, peakAnonMb } = rss.stop();
  const cpuUsed = cpuMs(pid) - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    connections,
    seconds: result.duration,
    requests: latencies.length + Object.values(failures).reduce((a, b) => a + b, 0),
    reqPerSec: latencies.length / result.duration,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    ok: latencies.length,
    failures,
    errors: result.errors,
    timeouts: result.timeouts,
    peakRssMb: peakMb,
    peakRssAnonMb: peakAnonMb,
    cpuMsPerRequest: cpuUsed / Math.max(1, latencies.length),
    clientCores: (client.user + client.system) / 1e6 / result.duration,
  };
}

/**
 * Several runs of the same load as one result: the median of each rate,
 * latency and CPU figure (one run slowed by the machine's other work moves
 * a median little), the highest memory peak, and every answer counted.
 */
export function combineRuns(runs: LoadResult[]): LoadResult {
  if (runs.length === 0) throw new Error("combineRuns: no runs");
  const of = (pick: (r: LoadResult) => number) => median(runs.map(pick));
  const failures: Record<string, number> = {};
  for (const r of runs) for (const [status, n] of Object.entries(r.failures)) failures[status] = (failures[status] ?? 0) + n;
  return {
    connections: runs[0]!.connections,
    seconds: runs.reduce((sum, r) => sum + r.seconds, 0),
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    reqPerSec: of((r) => r.reqPerSec),
    p50Ms: of((r) => r.p50Ms),
    p99Ms: of((r) => r.p99Ms),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    ok: runs.reduce((sum, r) => sum + r.ok, 0),
    failures,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    timeouts: runs.reduce((sum, r) => sum + r.timeouts, 0),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    peakRssAnonMb: Math.max(...runs.map((r) => r.peakRssAnonMb)),
    cpuMsPerRequest: of((r) => r.cpuMsPerRequest),
    clientCores: of((r) => r.clientCores),
  };
}
