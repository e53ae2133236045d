import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { firingByRule } from "../../functions/alerts/list.ts";
import type { IncrementRow } from "../../functions/report.ts";
import type { StoredIncrement } from "../../functions/store.ts";
import type { Config, Durability } from "../../shared/config.ts";
import type { Database } from "../platform/libsql-client.ts";
import { tokensRequired } from "./auth.ts";
import { showUrl } from "../platform/addresses.ts";
import { filePath, watchDatabaseFile } from "../platform/database.ts";
import { diskGuard } from "./disk-full.ts";
import { durableStore, type SpoolStatus } from "./durable-store.ts";
import { rollUpBehind } from "./roll-up-behind.ts";
import { handlerConfig } from "../platform/environment.ts";
import { openFileConnection, WEBHOOK_CACHE_KIB, WEBHOOK_WAL_AUTOCHECKPOINT, type FileConnection } from "../platform/file-connection.ts";
import { groupStore } from "./group-commit.ts";
import { webhookMetrics, type ExtraGauge } from "./metrics.ts";
import { scrapeAccess } from "./scrape-access.ts";
import { listening } from "../platform/lifecycle.ts";
import type { Logger } from "../platform/log.ts";
import { Spool, spoolPathFor } from "./spool.ts";
import { walFlusher, type WalFlusher, type WalFlusherOptions } from "./wal-flusher.ts";
import { createWebhookApp } from "./app.ts";

/**
 * How long the webhook's connection waits for another writer's lock. The
 * wait blocks the event loop (it happens inside a synchronous native call),
 * so it is short: after one busy failure, reports go to the spool instead.
 */
export const WEBHOOK_BUSY_TIMEOUT_MS = 100;
/** A libSQL server's round trip takes longer; its wait does not block the loop, but a client waits 5 s at most. */
export const WEBHOOK_SERVER_TIMEOUT_MS = 1000;

export const webhookTimeoutMs = (databaseUrl: string): number =>
  databaseUrl.startsWith("file:") ? WEBHOOK_BUSY_TIMEOUT_MS : WEBHOOK_SERVER_TIMEOUT_MS;

export interface WebhookStartOptions {
  /** Resolves once the migrations ran (open-when-free.ts); reports are spooled until then. */
  ready?: Promise<void>;
  /** fs.fdatasync for the WAL; a test passes one it can watch and hold. */
  syncWal?: WalFlusherOptions["sync"];
  /**
   * Gauges read at each scrape of /metrics besides the webhook's own: the
   * hook for what another feature has to show (firing alerts, say).
   */
  extraGauges?: ExtraGauge[];
}

/**
 * Starts the webhook on HOST:PORT over an open database (the app from
 * buildWebhook, served). Until `ready` resolves (a database locked at start,
 * see open-when-free.ts) reports only go to the spool.
 */
export async function startWebhook(
  config: Config,
  database: Database,
  log: Logger,
  options: WebhookStartOptions = {},
): Promise<{ server: ServerType; close: () => Promise<void>; spool: () => SpoolStatus }> {
  const { app, close, requireTokens, spool } = buildWebhook(config, database, log, options);
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port });
  const port = await listening(server, "webhook", config.host, config.port);
  log.info(`webhook listening on http://${config.host}:${port} (database ${showUrl(config.databaseUrl)}, days in ${config.timeZone}${requireTokens ? "; writes need an agent token" : ""})`);
  return { server, close, spool };
}

/**
 * The webhook's app with everything it writes through (spool, group commit,
 * the file connection), wired from the configuration: the one factory the
 * server and the in-process tests share. Checks the spool first (a
 * StartupError if unusable) and resumes applying what an earlier run left
 * in it. `close` stops the spool's loop and closes the writer, not `database`.
 */
export function buildWebhook(
  config: Config,
  database: Database,
  log: Logger,
  { ready, syncWal, extraGauges = [] }: WebhookStartOptions = {},
): { app: Hono; close: () => Promise<void>; requireTokens: boolean; spool: () => SpoolStatus } {
  const spool = new Spool(spoolPathFor(config.databaseUrl, config.spoolDir));
  const left = spool.load();
  if (left.unreadable > 0)
    log.error(`${left.unreadable} line(s) of the spool file ${spool.path} cannot be read and are skipped; a copy of the file is in ${left.copy}`);
  if (spool.busy) log.info(`the spool ${spool.path} holds ${spool.backlog} report(s) from an earlier run; applying them before new reports`);
  // Reports to a file go through a connection of their own that keeps its
  // statements prepared (../platform/file-connection.ts), to a server through the client;
  // concurrent requests' reports are stored by one INSERT (group commit).
  const path = filePath(config.databaseUrl);
  const writer = path ? fileWriter(path, webhookTimeoutMs(config.databaseUrl), log, config.durability, syncWal) : undefined;
  // One connection writes reports, live and from the spool alike; a write that fails for lack of space empties
  // the WAL first; the hourly rollup follows the commits within a second.
  const disk = diskGuard(writer ?? database.db, writer ? () => writer.checkpointAll() : undefined, log);
  const rollup = rollUpBehind(disk.writes, log);
  const writes = rollup.writes;
  const metrics = webhookMetrics(log);
  metrics.addGauge({
    name: "resource_share_alerts_firing",
    help: "Alerts firing now, by rule (docs/alerts.md).",
    labelNames: ["rule"],
    read: async () => (await firingByRule(database.db)).map(({ rule, firing }) => ({ labels: { rule }, value: firing })),
  });
  for (const gauge of extraGauges) metrics.addGauge(gauge);
  const store = durableStore(writes, spool, log, {
    write: onDisk(groupStore(writes, metrics.committed), writer, config.durability),
    ready,
    ...(writer ? { beforeEmptying: writer.synced } : {}),
  });
  store.resume();
  const requireTokens = tokensRequired(config.host, config.requireTokens);
  const app = createWebhookApp({
    db: database.db,
    store,
    config: handlerConfig(config),
    log,
    requireTokens,
    checkDatabase: watchDatabaseFile(config.databaseUrl),
    metrics,
    metricsAccess: scrapeAccess(config.host, config.webPassword),
    disk: disk.status,
  });
  return {
    app,
    requireTokens,
    spool: store.status,
    close: async () => {
      // The spool's loop first: once the connection is closed, a write it
      // attempted would fail as a refusal and set entries aside.
      await store.stop();
      await spool.close();
      await rollup.close();
      writer?.close();
    },
  };
}

type FileWriter = FileConnection & Pick<WalFlusher, "synced"> & { walPath: string };

/**
 * DURABILITY=full: a write resolves (and its report is answered 200) only
 * once its commit is on the disk. The wait is outside the group commit: a
 * failed sync must not make groupCalls store the rows again, and the next
 * group commits while this one's sync runs, to be written out by the next
 * sync, which every report committed meanwhile shares. On a libSQL server
 * the server decides when a commit is on its disk.
 */
function onDisk(
  write: (rows: IncrementRow[]) => Promise<StoredIncrement[]>,
  writer: FileWriter | undefined,
  durability: Durability,
): (rows: IncrementRow[]) => Promise<StoredIncrement[]> {
  if (writer === undefined || durability !== "full") return write;
  return async (rows) => {
    const stored = await write(rows);
    await writer.synced().catch((err: Error) => {
      throw new Error(`the report was committed, but writing the WAL ${writer.walPath} to disk failed (${err.message}); it is not known to survive a power loss. Check the disk (dmesg).`);
    });
    return stored;
  };
}

/**
 * The webhook's own connection to a database file, its statements kept
 * prepared. With DURABILITY=normal its WAL is written out behind the commits
 * so that checkpoints find little left to sync (wal-flusher.ts); with full,
 * each group of commits is synced before its reports are answered (onDisk),
 * which leaves the background flusher nothing to do.
 */
function fileWriter(path: string, busyTimeoutMs: number, log: Logger, durability: Durability, sync: WalFlusherOptions["sync"]): FileWriter {
  const flusher = walFlusher(path, {
    sync,
    onError: (err) =>
      log.warn(`cannot write the WAL file ${path}-wal out to disk (${err.message}); reports are still stored, but checkpoints will hold up the webhook longer${durability === "full" ? " and reports are answered 500 while it fails" : ""}. Check the disk (dmesg) and its free space.`),
  });
  const connection = openFileConnection(path, {
    busyTimeoutMs,
    cacheKib: WEBHOOK_CACHE_KIB,
    walAutocheckpoint: WEBHOOK_WAL_AUTOCHECKPOINT,
    afterCommit: durability === "full" ? undefined : flusher.committed,
  });
  return {
    ...connection,
    walPath: `${path}-wal`,
    synced: flusher.synced,
    close() {
      foldWal(connection, path, log);
      connection.close();
      flusher.close();
    },
  };
}

/**
 * On a clean stop, puts what the WAL holds (up to WEBHOOK_WAL_AUTOCHECKPOINT
 * frames, thousands of reports) into the database file itself, so that a
 * copy of the .db file alone, made while the webhook is stopped, misses
 * nothing.
 */
function foldWal(connection: FileConnection, path: string, log: Logger): void {
  let reason = "another process was reading or writing it";
  try {
    if (connection.checkpointAll()) return;
  } catch (err) {
    reason = (err as Error).message;
  }
  log.warn(`stopping: the WAL ${path}-wal could not be copied into ${path} (${reason}). Nothing is lost: SQLite applies it at the next open. Until then, copy the -wal file along with the database.`);
}
