import { Hono } from "hono";
import { handlers } from "../functions/index.ts";
import type { Context, Db, HandlerConfig } from "../shared/context.ts";
import { isUnavailable } from "../shared/db.ts";
import { accessLog, answer, limitBody, loggedPath, readJson } from "./http.ts";
import type { Logger } from "./log.ts";
import { failureBody } from "./outcome.ts";

export interface WebhookOptions {
  /** Writes go through group commit; see group-commit.ts. */
  db: Db;
  config: HandlerConfig;
  log: Logger;
  now?: () => Date;
}

/** A single report is a few hundred bytes; a batch holds up to 5,000 of them. */
const MAX_REPORT_BYTES = 64 * 1024;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * The webhook on :8765: the agents' timers post here. The routes and their
 * answers are a contract with clients in the field (see README, "API").
 */
export function createWebhookApp({ db, config, log, now = () => new Date() }: WebhookOptions): Hono {
  const ctx = (): Context => ({ db, now, config });
  const app = new Hono();
  app.use(accessLog(log));

  app.post("/resource-share/increment", limitBody(MAX_REPORT_BYTES), async (c) => {
    const body = await readJson(c);
    if (body instanceof Response) return body;
    const key = c.req.header("idempotency-key");
    if (key !== undefined && conflictsWithKey(body.value, key))
      return c.json(
        failureBody({
          code: "invalid_input",
          message: "event_id: differs from the Idempotency-Key header; send one or make them equal",
          issues: [{ field: "event_id", message: "differs from the Idempotency-Key header; send one or make them equal" }],
        }),
        400,
      );
    return answer(c, handlers.ingest.run, withKey(body.value, key), ctx());
  });

  app.post("/resource-share/increments", limitBody(MAX_BATCH_BYTES), async (c) => {
    const body = await readJson(c);
    if (body instanceof Response) return body;
    return answer(c, handlers.ingestBatch.run, body.value, ctx());
  });

  app.get("/resource/today/:claude_name", (c) => answer(c, handlers.today.run, { claude_name: c.req.param("claude_name") }, ctx()));
  app.get("/resource/summary", (c) => answer(c, handlers.summary.run, {}, ctx()));
  // Only the known parameters are passed on: queryDaily refuses unknown keys,
  // which over HTTP would include harmless cache-busters.
  app.get("/resource/daily", (c) => {
    const input: Record<string, string> = {};
    for (const key of ["from", "to", "claude_name"]) {
      const value = c.req.query(key);
      if (value !== undefined && value !== "") input[key] = value;
    }
    return answer(c, handlers.queryDaily.run, input, ctx());
  });

  app.get("/health", async (c) => {
    try {
      return await answer(c, handlers.health.run, {}, ctx());
    } catch (err) {
      log.error(`health check failed: the database does not answer: ${(err as Error).message}`);
      return c.json({ status: "error", database: "unreachable", message: (err as Error).message }, 503);
    }
  });

  app.notFound((c) =>
    c.json({ status: "error", error: "not_found", message: `No route ${c.req.method} ${c.req.path}. See the README, section "API".` }, 404),
  );

  app.onError((err, c) => {
    if (isUnavailable(err)) {
      log.error(`database unavailable during ${c.req.method} ${loggedPath(c)}: ${err.message}`);
      c.header("Retry-After", "5");
      return c.json({ status: "error", error: "unavailable", message: "The database cannot take writes right now; nothing was stored. Retry shortly." }, 503);
    }
    log.error(`unexpected fault in ${c.req.method} ${loggedPath(c)}: ${err.stack ?? err.message}`);
    return c.json({ status: "error", error: "internal", message: "Unexpected fault; the server log has the details." }, 500);
  });

  return app;
}

type Body = Record<string, unknown>;
const isObject = (x: unknown): x is Body => x !== null && typeof x === "object" && !Array.isArray(x);
const hasEventId = (b: Body) => b.event_id !== undefined && b.event_id !== null;

/** The `Idempotency-Key` header stands for `event_id` when the body has none. */
function withKey(input: unknown, key: string | undefined): unknown {
  return key !== undefined && isObject(input) && !hasEventId(input) ? { ...input, event_id: key } : input;
}

/** Both present and different is a client bug worth hearing about. */
function conflictsWithKey(input: unknown, key: string): boolean {
  return isObject(input) && hasEventId(input) && input.event_id !== key;
}
