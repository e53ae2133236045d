import { Hono, type Context as HonoContext, type MiddlewareHandler } from "hono";
import { advise, type Advice } from "../../functions/advice/policy.ts";
import type { AdviceContext, FamilyState } from "../../functions/advice/state.ts";
import type { IngestContext } from "../../functions/ingest.ts";
import type { Db, HandlerConfig } from "../../shared/context.ts";
import { isUnavailable } from "../platform/libsql-client.ts";
import { writeAuth } from "./auth.ts";
import type { DiskStatus } from "./disk-full.ts";
import type { DurableStore } from "./durable-store.ts";
import { familyStateCache, type FamilyStateCache } from "./family-state.ts";
import { accessLog, answer, limitBody, loggedPath, readJson } from "../platform/http.ts";
import type { Logger } from "../platform/log.ts";
import { failureResponse } from "../platform/outcome.ts";
import { runHandler } from "../platform/run-handler.ts";
import { webhookMetrics, type WebhookMetrics } from "./metrics.ts";
import { scrapeAccess } from "./scrape-access.ts";
import { SpoolUnwritable } from "./spool.ts";

export interface WebhookOptions {
  /** Reads, and the token lookup. */
  db: Db;
  /** Writes: to the database, or to the spool while it cannot take them. */
  store: DurableStore;
  config: HandlerConfig;
  log: Logger;
  /** Writes need an agent's token (off loopback, or REQUIRE_TOKENS=1). */
  requireTokens?: boolean;
  /** Says what is wrong with the database file, if anything (deleted, replaced). */
  checkDatabase?: () => string | undefined;
  /** Whether writes fail for lack of disk space (disk-full.ts). */
  disk?: () => DiskStatus;
  now?: () => Date;
  /** The family's state for the advice, kept in memory (default: a cache over `db`). */
  familyState?: FamilyStateCache;
  /** The counters the write path feeds and GET /metrics shows (default: its own). */
  metrics?: WebhookMetrics;
  /** Who may read /metrics (scrape-access.ts; default: anyone, as on loopback). */
  metricsAccess?: MiddlewareHandler;
}

/** A single report is a few hundred bytes; a batch holds up to 5,000 of them. */
const MAX_REPORT_BYTES = 64 * 1024;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** A scraper's readings: a handful, or a backlog of them. */
const MAX_QUOTA_BYTES = 4 * 1024 * 1024;
/** An OTLP export: a few dozen points, or a backlog an exporter kept while the webhook was away. */
const MAX_OTLP_BYTES = 4 * 1024 * 1024;

/**
 * Why an OTLP export cannot be read, said with the setting that fixes it:
 * only JSON is read here (not protobuf), uncompressed.
 */
function otlpEncodingProblem(type: string | undefined, encoding: string | undefined): string | undefined {
  if (type !== undefined && /^application\/x-protobuf/i.test(type))
    return "OTLP protobuf is not read here, only JSON; nothing was stored. Set OTEL_EXPORTER_OTLP_PROTOCOL=http/json.";
  if (encoding !== undefined && !/^\s*identity\s*$/i.test(encoding))
    return `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not read here; nothing was stored. Set OTEL_EXPORTER_OTLP_COMPRESSION=none.`;
  return undefined;
}

/**
 * The webhook on :8765: the agents' timers post here. The routes and their
 * answers are a contract with clients in the field (see README, "API").
 */
export function createWebhookApp({
  db,
  store,
  config,
  log,
  requireTokens = false,
  checkDatabase = () => undefined,
  disk = () => ({}),
  now = () => new Date(),
  familyState = familyStateCache(db, config, log, now),
  metrics = webhookMetrics(log),
  metricsAccess = scrapeAccess("127.0.0.1", undefined),
}: WebhookOptions): Hono {
  // Reads a person makes (advice, quota, health) see this process's commits.
  const ctx = (): AdviceContext => ({ db, now, config, familyState: familyState.fresh });
  // The advice per agent for one loaded state: the policy runs once per
  // agent and state (a few seconds), not once per report.
  let advisedState: FamilyState | undefined;
  let advised = new Map<string, Advice>();
  function adviceFor(state: FamilyState, name: string): Advice {
    if (state !== advisedState) {
      advisedState = state;
      advised = new Map();
    }
    let a = advised.get(name);
    if (a === undefined) advised.set(name, (a = advise(state, name, now().getTime())));
    return a;
  }
  const auth = writeAuth(db, requireTokens, log);
  const app = new Hono();
  app.use(accessLog(log));

  /**
   * The write routes: the door's part is the body and the token; the
   * ingest handlers check the reports, that they name the token's agent,
   * and the Idempotency-Key, then make them durable through the spool-aware
   * writer (a 200 means in the table or in the spool).
   */
  const write = (name: "ingest" | "ingestBatch") => async (c: HonoContext) => {
    const agent = await auth.agentOf(c);
    if (!agent.ok) return failureResponse(c, agent.error);
    const body = await readJson(c);
    if (!body.ok) return failureResponse(c, body.error);
    const key = c.req.header("idempotency-key");
    const ingestCtx: IngestContext = {
      db,
      now,
      config,
      request: { ...(agent.value !== undefined ? { agent: agent.value } : {}), ...(key !== undefined ? { idempotencyKey: key } : {}) },
      writeReports: (rows) => store.store(rows),
      // A report is advised from the state in memory, never waiting for a refresh.
      familyState: familyState.get,
      adviceFor,
    };
    const result = await runHandler(name, body.value, ingestCtx);
    if (!result.ok) {
      if (result.error.code === "unauthorized") log.warn(`401 ${c.req.method} ${loggedPath(c)}: ${result.error.message}`);
      return failureResponse(c, result.error);
    }
    familyState.committed();
    const value = result.value;
    if ("results" in value) {
      metrics.accepted(value.stored);
      metrics.duplicates(value.duplicates);
    } else if (value.duplicate) metrics.duplicates(1);
    else metrics.accepted(1);
    return c.json(value, 200);
  };
  // Every refusal of a write, wherever it is decided (body limit, token, handler, onError), by its code.
  const countRefusals: MiddlewareHandler = async (c, next) => {
    await next();
    const code = c.get("failure");
    if (code !== undefined) metrics.refused(code);
  };
  app.post("/resource-share/increment", countRefusals, limitBody(MAX_REPORT_BYTES), write("ingest"));
  app.post("/resource-share/increments", countRefusals, limitBody(MAX_BATCH_BYTES), write("ingestBatch"));

  // A scraper's readings of the quota windows. Any agent's token may send them (off loopback one is needed).
  app.post("/resource-share/quota", limitBody(MAX_QUOTA_BYTES), async (c) => {
    const agent = await auth.agentOf(c);
    if (!agent.ok) return failureResponse(c, agent.error);
    const body = await readJson(c);
    if (!body.ok) return failureResponse(c, body.error);
    const answered = await answer(c, "recordQuota", body.value, ctx());
    familyState.committed();
    return answered;
  });
  // Claude Code's own telemetry (OTLP/HTTP JSON), a second source kept apart from the reports (docs/telemetry.md).
  app.post("/v1/metrics", limitBody(MAX_OTLP_BYTES), async (c) => {
    const agent = await auth.agentOf(c);
    if (!agent.ok) return failureResponse(c, agent.error);
    const notJson = otlpEncodingProblem(c.req.header("content-type"), c.req.header("content-encoding"));
    if (notJson) return failureResponse(c, { code: "unsupported_media_type", message: notJson });
    const body = await readJson(c);
    if (!body.ok) return failureResponse(c, body.error);
    const request = agent.value !== undefined ? { agent: agent.value } : {};
    return answer(c, "recordMetrics", body.value, { db, now, config, request });
  });
  app.get("/resource/quota", (c) => answer(c, "quota", {}, ctx()));
  app.get("/resource/advice/:claude_name", (c) => answer(c, "advise", { claude_name: c.req.param("claude_name") }, ctx()));

  app.get("/resource/today/:claude_name", (c) => answer(c, "today", { claude_name: c.req.param("claude_name") }, ctx()));
  app.get("/resource/summary", (c) => answer(c, "summary", {}, ctx()));
  // Only the known parameters are passed on: queryDaily refuses unknown keys,
  // which over HTTP would include harmless cache-busters.
  app.get("/resource/daily", (c) => {
    const input: Record<string, string> = {};
    for (const key of ["from", "to", "claude_name"]) {
      const value = c.req.query(key);
      if (value !== undefined && value !== "") input[key] = value;
    }
    return answer(c, "queryDaily", input, ctx());
  });

  // The alerts as they stand; filters as the viewer's page has them.
  app.get("/resource/alerts", (c) => {
    const input: Record<string, string> = {};
    for (const key of ["rule", "subject"]) {
      const value = c.req.query(key);
      if (value !== undefined && value !== "") input[key] = value;
    }
    return answer(c, "listAlerts", input, ctx());
  });

  app.get("/health", async (c) => {
    const spool = store.status();
    const gone = checkDatabase();
    if (gone) {
      log.error(`health check: ${gone}`);
      return c.json({ status: "error", database: "gone", message: gone, spool }, 503);
    }
    const { fullSince, message } = disk();
    if (fullSince !== undefined)
      return c.json({
        status: "error", database: "disk full", full_since: fullSince, spool,
        message: `The disk is full: the last write failed (${message}); reports are answered 503. Free space on the database's disk; the next report that is stored clears this.`,
      }, 503);
    try {
      const result = await runHandler("health", {}, ctx());
      if (result.ok) return c.json({ ...result.value, spool }, 200);
      return failureResponse(c, result.error);
    } catch (err) {
      log.error(`health check failed: the database does not answer: ${(err as Error).message}`);
      return c.json({ status: "error", database: "unreachable", message: (err as Error).message, spool }, 503);
    }
  });

  // Read at scrape time, apart from the write path: the spool in memory, then today and the windows from the read connection.
  const scrapeCtx = (): AdviceContext => ({ ...ctx(), familyState: familyState.get });
  app.get("/metrics", metricsAccess, async (c) => {
    const { text, contentType } = await metrics.scrape({
      spool: () => ({ backlog: store.status().backlog, oldestReceivedAt: store.oldestWaiting() }),
      today: async () => unwrap(await runHandler("summary", {}, ctx())).agents,
      // The state in memory, as the reports' advice sees it (at most a few seconds old): reloading
      // it here (as GET /resource/quota does) cost a scrape tens of ms, and the event loop with it.
      windows: async () => unwrap(await runHandler("quota", {}, scrapeCtx())).windows,
      now,
    });
    return c.body(text, 200, { "content-type": contentType });
  });
  // Built on first request: the converter stays out of the memory of a webhook nobody asks.
  let openApi: Promise<string> | undefined;
  app.get("/openapi.json", async (c) => {
    openApi ??= import("./openapi.ts").then(({ openApiDocument }) => JSON.stringify(openApiDocument()));
    return c.body(await openApi, 200, { "content-type": "application/json" });
  });

  app.notFound((c) => failureResponse(c, { code: "not_found", message: `No route ${c.req.method} ${c.req.path}. See the README, section "API".` }));

  app.onError((err, c) => {
    if (err instanceof SpoolUnwritable) {
      log.error(`${c.req.method} ${loggedPath(c)}: the database cannot take the write and ${err.message}; answered 503, nothing was stored. Free disk space or fix the spool directory's permissions.`);
      return failureResponse(
        c,
        { code: "unavailable", message: "Neither the database nor the spool can take the report right now; nothing was stored. Retry later." },
        { retryAfterS: 30 },
      );
    }
    if (isUnavailable(err)) {
      log.error(`database unavailable during ${c.req.method} ${loggedPath(c)}: ${err.message}`);
      return failureResponse(c, { code: "unavailable", message: "The database cannot take writes right now; nothing was stored. Retry shortly." });
    }
    log.error(`unexpected fault in ${c.req.method} ${loggedPath(c)}: ${err.stack ?? err.message}`);
    return failureResponse(c, { code: "internal", message: "Unexpected fault; the server log has the details." });
  });

  return app;
}

/** A read the metrics make cannot fail as a request can (no input); a failure is a fault. */
function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}
