import { Hono, type Context as HonoContext } from "hono";
import { handlers } from "../functions/index.ts";
import { advise, type Advice } from "../functions/advice/policy.ts";
import type { FamilyState } from "../functions/advice/state.ts";
import { adviseReports, describeStored, parseReport } from "../functions/ingest.ts";
import { describeBatch, parseBatch } from "../functions/ingestBatch.ts";
import type { IncrementRow } from "../functions/report.ts";
import type { Context, Db, HandlerConfig } from "../shared/context.ts";
import { isUnavailable } from "../shared/db.ts";
import type { Result } from "../shared/result.ts";
import { writeAuth } from "./auth.ts";
import type { DurableStore } from "./durable-store.ts";
import { familyStateCache, type FamilyStateCache } from "./family-state.ts";
import { accessLog, answer, limitBody, loggedPath, readJson } from "./http.ts";
import type { Logger } from "./log.ts";
import { failureBody } from "./outcome.ts";
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
  now?: () => Date;
  /** The family's state for the advice, kept in memory (default: a cache over `db`). */
  familyState?: FamilyStateCache;
}

/** A single report is a few hundred bytes; a batch holds up to 5,000 of them. */
const MAX_REPORT_BYTES = 64 * 1024;
const JSON_HEADERS = { "Content-Type": "application/json" };
/** A scraper's readings: a handful, or a backlog of them. */
const MAX_QUOTA_BYTES = 4 * 1024 * 1024;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

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
  now = () => new Date(),
  familyState = familyStateCache(db, config, log, now),
}: WebhookOptions): Hono {
  const ctx = (): Context => ({ db, now, config, familyState: familyState.fresh });
  const auth = writeAuth(db, requireTokens, log);
  const app = new Hono();
  app.use(accessLog(log));

  // The advice per agent for one loaded state, with its JSON text: the
  // policy runs once per agent and state (a few seconds), and a report's
  // answer is that text spliced to the stored report's, because building
  // and serialising the merged object cost a fifth of a report's CPU time.
  let advisedState: FamilyState | undefined;
  let advised = new Map<string, { advice: Advice; json: string }>();
  function adviceFor(state: FamilyState, name: string): { advice: Advice; json: string } {
    if (state !== advisedState) {
      advisedState = state;
      advised = new Map();
    }
    let a = advised.get(name);
    if (a === undefined) {
      const advice = advise(state, name, now().getTime());
      advised.set(name, (a = { advice, json: JSON.stringify(advice) }));
    }
    return a;
  }

  /**
   * Checks who writes, advises, then stores rows durably; 200 means they are
   * in the table or the spool. `describe` gives the answer as an object, or
   * as JSON text already.
   */
  async function write(
    c: HonoContext,
    agent: string | undefined,
    rows: Result<IncrementRow[]>,
    describe: (rows: IncrementRow[], stored: Awaited<ReturnType<DurableStore["store"]>>, advice: Map<string, { advice: Advice; json: string }>) => object | string,
  ) {
    if (!rows.ok) return c.json(failureBody(rows.error), 400);
    const denied = auth.mismatch(c, agent, rows.value.map((r) => r.claude_name));
    if (denied) return denied;
    const state = await familyState.get();
    const advice = new Map<string, { advice: Advice; json: string }>();
    adviseReports(rows.value, (name) => {
      const a = adviceFor(state, name);
      advice.set(name, a);
      return a.advice;
    });
    const stored = await store.store(rows.value);
    familyState.committed();
    const answer = describe(rows.value, stored, advice);
    return typeof answer === "string" ? c.body(answer, 200, JSON_HEADERS) : c.json(answer, 200);
  }

  app.post("/resource-share/increment", limitBody(MAX_REPORT_BYTES), async (c) => {
    const agent = await auth.agentOf(c);
    if (agent instanceof Response) return agent;
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
    const row = parseReport(withKey(body.value, key), ctx());
    return write(c, agent, row.ok ? { ok: true, value: [row.value] } : row, (rows, stored, advice) => {
      const report = JSON.stringify(describeStored(rows[0]!, stored === "spooled" ? undefined : stored[0]));
      // {advice fields, report fields}: both are JSON objects of distinct keys.
      return `${advice.get(rows[0]!.claude_name)!.json.slice(0, -1)},${report.slice(1)}`;
    });
  });

  app.post("/resource-share/increments", limitBody(MAX_BATCH_BYTES), async (c) => {
    const agent = await auth.agentOf(c);
    if (agent instanceof Response) return agent;
    const body = await readJson(c);
    if (body instanceof Response) return body;
    return write(c, agent, parseBatch(body.value, ctx()), (rows, stored, advice) =>
      describeBatch(rows, stored === "spooled" ? undefined : stored, new Map([...advice].map(([name, a]) => [name, a.advice]))),
    );
  });

  // A scraper's readings of the quota windows. Any agent's token may send them (off loopback one is needed).
  app.post("/resource-share/quota", limitBody(MAX_QUOTA_BYTES), async (c) => {
    const agent = await auth.agentOf(c);
    if (agent instanceof Response) return agent;
    const body = await readJson(c);
    if (body instanceof Response) return body;
    const answered = await answer(c, handlers.recordQuota.run, body.value, ctx());
    familyState.committed();
    return answered;
  });

  app.get("/resource/quota", (c) => answer(c, handlers.quota.run, {}, ctx()));
  app.get("/resource/advice/:claude_name", (c) => answer(c, handlers.advise.run, { claude_name: c.req.param("claude_name") }, ctx()));

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
    const spool = store.status();
    const gone = checkDatabase();
    if (gone) {
      log.error(`health check: ${gone}`);
      return c.json({ status: "error", database: "gone", message: gone, spool }, 503);
    }
    try {
      const result = await handlers.health.run({}, ctx());
      if (result.ok) return c.json({ ...result.value, spool }, 200);
      return c.json(failureBody(result.error), 500);
    } catch (err) {
      log.error(`health check failed: the database does not answer: ${(err as Error).message}`);
      return c.json({ status: "error", database: "unreachable", message: (err as Error).message, spool }, 503);
    }
  });

  app.notFound((c) =>
    c.json({ status: "error", error: "not_found", message: `No route ${c.req.method} ${c.req.path}. See the README, section "API".` }, 404),
  );

  app.onError((err, c) => {
    if (err instanceof SpoolUnwritable) {
      log.error(`${c.req.method} ${loggedPath(c)}: the database cannot take the write and ${err.message}; answered 503, nothing was stored. Free disk space or fix the spool directory's permissions.`);
      c.header("Retry-After", "30");
      return c.json({ status: "error", error: "unavailable", message: "Neither the database nor the spool can take the report right now; nothing was stored. Retry later." }, 503);
    }
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
