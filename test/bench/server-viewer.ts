import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freeLoopbackPorts, spawnListening } from "../support/process.ts";
import { startSqld } from "../support/sqld.ts";
import { deployedArguments } from "./deployed.ts";
import type { History } from "./history.ts";
import { median } from "./median.ts";
import type { Figure } from "./table.ts";
import { timedGet } from "./viewer.ts";

/** The pages read, each 7 times after 2 warm-ups. */
const PAGES = {
  dashboard: "/",
  daily: "/daily",
  "table page": "/tables/resource_share_increments?size=25&page=2",
  "table sorted": "/tables/resource_share_increments?size=25&sort=cache_read_increment",
} as const;
type PageName = keyof typeof PAGES;

export type ServerViewerResults = Record<"server" | "file", Record<PageName, number[]>>;

/**
 * The viewer as deployed on a libSQL server (sqld on a loopback port) and,
 * as the reference, on the file it was made from: the history's database,
 * whose rollup is built and days closed. What a page costs where every read
 * is a round trip over HTTP.
 */
export async function benchServerViewer(h: History, scratch: string, timeZone: string, log: (line: string) => void): Promise<ServerViewerResults> {
  // sqld serves a SQLite file placed as its default database's data.
  const dataDir = join(scratch, "server-viewer.sqld");
  mkdirSync(join(dataDir, "dbs/default"), { recursive: true });
  execFileSync("sqlite3", [h.path, `VACUUM INTO '${join(dataDir, "dbs/default/data")}'`]);
  const server = await startSqld({ from: dataDir });
  try {
    return { server: await readPages(server.url, timeZone, log, "server"), file: await readPages(`file:${h.path}`, timeZone, log, "file") };
  } finally {
    await server.stop();
  }
}

async function readPages(databaseUrl: string, timeZone: string, log: (line: string) => void, label: string): Promise<Record<PageName, number[]>> {
  const [port] = await freeLoopbackPorts(1);
  const viewer = await spawnListening(deployedArguments("resource-share-web.service"), {
    env: { WEB_PORT: String(port), WEB_HOST: "127.0.0.1", DATABASE_URL: databaseUrl, RESOURCE_SHARE_TZ: timeZone, LOG_LEVEL: "info" },
    keepOutput: false,
    timeoutMs: 60_000,
  });
  try {
    const out = {} as Record<PageName, number[]>;
    for (const [name, path] of Object.entries(PAGES) as [PageName, string][]) {
      for (let i = 0; i < 2; i++) await timedGet(`${viewer.url}${path}`);
      out[name] = [];
      for (let i = 0; i < 7; i++) out[name].push(await timedGet(`${viewer.url}${path}`));
      log(`  ${label}, ${name}: median ${median(out[name]).toFixed(1)} ms`);
    }
    return out;
  } finally {
    await viewer.stop();
  }
}

export function serverViewerFigures(r: ServerViewerResults): Figure[] {
  return (Object.keys(PAGES) as PageName[]).map((name) => {
    const server = median(r.server[name]);
    const file = median(r.file[name]);
    return { name: `viewer on a libSQL server, ${name}`, value: server, unit: "ms", reference: "same page, file", referenceValue: file, ratio: server / file, target: "(info)", met: null };
  });
}
