import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import type { Config } from "../../shared/config.ts";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../platform/libsql-client.ts";
import { filePath, openConfigured, StartupError } from "../platform/database.ts";
import { openFileConnection } from "../platform/file-connection.ts";
import { handlerConfig } from "../platform/environment.ts";
import { listening } from "../platform/lifecycle.ts";
import type { Logger } from "../platform/log.ts";
import { isLoopback, showUrl } from "../platform/addresses.ts";
import { createAccess } from "./access.ts";
import { createViewerApp } from "./app.tsx";
import { refusedPage } from "./login.tsx";
import { createQueryRunner } from "./console/query-runner.ts";

/**
 * Starts the viewer on WEB_HOST:WEB_PORT with its own query-only database
 * connection. Returns the server and a closer for that connection.
 */
export async function startViewer(config: Config, log: Logger): Promise<{ server: ServerType; close: () => void }> {
  if (!isLoopback(config.webHost) && !config.webPassword)
    throw new StartupError(
      `Refusing to start the viewer on ${config.webHost}: that address is reachable from other machines and WEB_PASSWORD is not set. ` +
        "Set WEB_PASSWORD to a long secret, or use WEB_HOST=127.0.0.1 and reach it through an SSH tunnel.",
    );
  const { app, close } = await buildViewer(config, log);
  const server = serve({ fetch: app.fetch, hostname: config.webHost, port: config.webPort });
  let port: number;
  try {
    port = await listening(server, "viewer", config.webHost, config.webPort);
  } catch (err) {
    close();
    throw err;
  }
  const shown = config.webHost.includes(":") ? `[${config.webHost}]` : config.webHost;
  log.info(
    `viewer listening on http://${shown}:${port} (database ${showUrl(config.databaseUrl)}, read-only; days in ${config.timeZone}; ${config.webPassword ? "password required" : "no password, loopback only"})`,
  );
  return { server, close };
}

/**
 * The page cache of the viewer's connection. The dashboard of a busy day
 * reads some megabytes of pages (today's rollup rows, each agent's latest
 * report in the index); within SQLite's default 2 MB they would be read
 * from the OS again on every view (docs/performance.md, "The dashboard on
 * the 1,000-agent day").
 */
export const VIEWER_CACHE_KIB = 16 * 1024;

/**
 * The viewer's app over its own query-only connections, wired from the
 * configuration: the one factory the server and the in-process tests share.
 * `close` closes those connections.
 */
export async function buildViewer(
  config: Config,
  log: Logger,
  { queryChild }: { /** Node's arguments that start a console query process (createQueryRunner's `childArgs`). */ queryChild?: string[] } = {},
): Promise<{ app: Hono; close: () => void }> {
  const database = await openConfigured(config, { queryOnly: true, cacheKib: VIEWER_CACHE_KIB });
  const tz = config.timeZone;
  const queries = createQueryRunner({ url: config.databaseUrl, authToken: config.databaseAuthToken }, { childArgs: queryChild });
  // Exports of a million rows read batch after batch with the same statement:
  // kept prepared, it holds no more native memory at the end than at the start.
  const path = filePath(config.databaseUrl);
  const exports = path ? openFileConnection(path, { busyTimeoutMs: DEFAULT_BUSY_TIMEOUT_MS, queryOnly: true }) : undefined;
  const close = () => {
    queries.close();
    exports?.close();
    database.close();
  };
  const app = createViewerApp(
    {
      db: database.db,
      ...(exports ? { exportDb: exports } : {}),
      config: handlerConfig(config),
      now: () => new Date(),
      access: createAccess(config.webPassword, refusedPage(tz)),
      runQuery: queries.run,
      warmQueries: queries.warm,
    },
    log,
  );
  return { app, close };
}
