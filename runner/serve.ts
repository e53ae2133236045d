import { serve, type ServerType } from "@hono/node-server";
import type { Config } from "../shared/config.ts";
import type { Database } from "../shared/db.ts";
import { handlerConfig } from "./environment.ts";
import { groupCommit } from "./group-commit.ts";
import { listening } from "./lifecycle.ts";
import type { Logger } from "./log.ts";
import { createWebhookApp } from "./webhook.ts";

/** Starts the webhook on HOST:PORT over an open database. */
export async function startWebhook(config: Config, database: Database, log: Logger): Promise<ServerType> {
  const app = createWebhookApp({ db: groupCommit(database.db), config: handlerConfig(config), log });
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port });
  const port = await listening(server, "webhook", config.host, config.port);
  log.info(`webhook listening on http://${config.host}:${port} (database ${describeUrl(config.databaseUrl)}, days in ${config.timeZone})`);
  return server;
}

/** The database URL without anything secret in it. */
export function describeUrl(url: string): string {
  return url.replace(/\?.*$/, "").replace(/\/\/[^@/]*@/, "//");
}
