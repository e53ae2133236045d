import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Hono } from "hono";
import { onTestFinished } from "vitest";
import { machineZone } from "../../runner/platform/environment.ts";
import { createLogger } from "../../runner/platform/log.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { createAccess } from "../../runner/viewer/access.ts";
import { createViewerApp } from "../../runner/viewer/app.tsx";
import { buildViewer } from "../../runner/viewer/start.ts";
import { openWhenFree } from "../../runner/webhook/open-when-free.ts";
import { buildWebhook, webhookTimeoutMs } from "../../runner/webhook/start.ts";
import { parseConfig, type Config } from "../../shared/config.ts";
import { BUILT_QUERY_CHILD } from "./built-runner.ts";
import { testContext } from "./context.ts";

/**
 * The real webhook and viewer apps, built in this process by the same
 * factories the servers use (buildWebhook, buildViewer in runner/*\/start.ts)
 * from settings given as a runner process would get them, and called with
 * the app's own request(): no process, no port. For what a process adds
 * (signals, crashes, locks at start, the CLI), use startRunner (server.ts).
 */
export interface InProcessApp {
  app: Hono;
  /** app.request(), with the Content-Length a client sends for a body it knows the size of. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs `body` as JSON (a string as is), as the agents' timers do; the answer's status and parsed body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  /** Everything logged so far, as the process would print it (`LEVEL message` lines). */
  output(): string;
  /** Closes what it opened; a second call does nothing. */
  close(): Promise<void>;
}

/** DATABASE_URL and the other settings, as a runner process reads them from its environment. */
function configFrom(env: Record<string, string>): Config {
  const parsed = parseConfig({ LOG_LEVEL: "info", ...env }, machineZone);
  if (!parsed.ok) throw new Error(`bad settings for an in-process app: ${parsed.message}`);
  return parsed.config;
}

function capturedLog(config: Config) {
  let text = "";
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const log = createLogger(config.logLevel, { withTime: false, out });
  return {
    log,
    output: () => {
      log.flush();
      return text;
    },
  };
}

/** Fetch sends Content-Length for a string or bytes body (not for a stream); app.request() alone would send none. */
function withLength(init: RequestInit = {}): RequestInit {
  const body = init.body;
  const length = typeof body === "string" ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : undefined;
  if (length === undefined) return body instanceof ReadableStream ? ({ ...init, duplex: "half" } as RequestInit) : init;
  const headers = new Headers(init.headers);
  if (!headers.has("content-length")) headers.set("content-length", String(length));
  return { ...init, headers };
}

/** What @hono/node-server hands the app with each request: the client's socket (getConnInfo reads it). */
const LOOPBACK_CLIENT = { incoming: { socket: { remoteAddress: "127.0.0.1", remotePort: 50_000, remoteFamily: "IPv4" } } };

/** The origin of a request to an in-process app (a URL without a host is sent to http://localhost). */
export const IN_PROCESS_ORIGIN = "http://localhost";

/** The whole interface around an app; stopped when the test ends, or (built in beforeAll) by the caller's afterAll. */
function inProcess(app: Hono, output: () => string, close: () => Promise<void>): InProcessApp {
  const request = async (path: string, init?: RequestInit) => app.request(path, withLength(init), LOOPBACK_CLIENT);
  const running: InProcessApp = {
    app,
    request,
    async post(path, body, headers = {}) {
      const res = await request(path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // kept as text: the test shows it
      }
      return { status: res.status, body: parsed };
    },
    output,
    close,
  };
  try {
    onTestFinished(() => running.close());
  } catch {
    // built outside a test (beforeAll): the caller closes it
  }
  return running;
}

/**
 * The webhook as `runner serve` builds it over the database in `env`
 * (DATABASE_URL, e.g. a TestStore's env): its own migrated connection, the
 * spool (in a temporary directory for a server, unless SPOOL_DIR is given),
 * group commit and, on a file, the webhook's own file connection.
 */
export async function webhookApp(env: Record<string, string>): Promise<InProcessApp> {
  let spoolDir: string | undefined;
  if (env.SPOOL_DIR === undefined && !env.DATABASE_URL?.startsWith("file:")) spoolDir = mkdtempSync(join(tmpdir(), "rs-spool-"));
  const config = configFrom({ ...env, ...(spoolDir ? { SPOOL_DIR: spoolDir } : {}) });
  const { log, output } = capturedLog(config);
  // Opened as runner/cli/start.ts opens it for the webhook.
  const { database, ready } = await openWhenFree(config, log, webhookTimeoutMs(config.databaseUrl));
  const webhook = buildWebhook(config, database, log, { ready });
  let closed: Promise<void> | undefined;
  return inProcess(webhook.app, output, () =>
    (closed ??= (async () => {
      await webhook.close();
      database.close();
      if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
    })()),
  );
}

/** The viewer as `runner web` builds it over the database in `env` (WEB_PASSWORD and the other settings too). */
export async function viewerApp(env: Record<string, string>): Promise<InProcessApp> {
  const config = configFrom(env);
  const { log, output } = capturedLog(config);
  // Its console's query processes are the test run's build of query-child: the same code, without tsx's start.
  const viewer = await buildViewer(config, log, { queryChild: [BUILT_QUERY_CHILD] });
  let closed = false;
  return inProcess(viewer.app, output, async () => {
    if (!closed) viewer.close();
    closed = true;
  });
}

/**
 * The viewer's pages over a database file at a fixed instant, without the
 * SQL console: for tests of pages and exports whose days depend on "today".
 */
export async function viewerAt(path: string, now: Date): Promise<{ app: Hono; close: () => void }> {
  const db = await openDatabase({ url: `file:${path}`, queryOnly: true });
  const app = createViewerApp(
    {
      ...testContext(db.db, { now }),
      access: createAccess(undefined, () => new Response("refused", { status: 401 })),
      runQuery: async () => ({ ok: false, message: "the console is not part of this test" }),
    },
    createLogger("error", { out: process.stderr }),
  );
  return { app, close: () => db.close() };
}
