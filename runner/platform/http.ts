import type { Context as HonoContext, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { HandlerName } from "../../functions/index.ts";
import type { Context } from "../../shared/context.ts";
import type { Failure } from "../../shared/result.ts";
import { failureResponse } from "./outcome.ts";
import { runHandler } from "./run-handler.ts";
import type { Logger } from "./log.ts";

/** Helpers that both HTTP servers (webhook and viewer) use. */

/**
 * The request path for a log line, as sent (still percent-encoded):
 * `c.req.path` is decoded, so `%0A` in a URL would start a forged line.
 */
export function loggedPath(c: HonoContext): string {
  const url = c.req.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.search(/[?#]/);
  const path = start < 0 ? "/" : url.slice(start, end < start ? undefined : end);
  // Any control character left (the URL parser keeps none, but be sure) is escaped.
  return path.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => encodeURIComponent(ch));
}

/** `METHOD path status duration` for every request, to stdout (journald). */
export function accessLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    log.info(`${c.req.method} ${loggedPath(c)} ${c.res.status} ${(performance.now() - started).toFixed(1)}ms`);
  };
}

/**
 * 413 with a JSON explanation for bodies over `maxBytes`, declared or chunked.
 * A declared length is checked from the header alone, which leaves the body
 * to @hono/node-server's fast path (read straight from the socket); only a
 * chunked body goes through hono's bodyLimit, which counts it as it streams
 * (and costs a web stream per request, too much for every report).
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = (c: HonoContext) =>
    failureResponse(c, { code: "payload_too_large", message: `The body is larger than ${maxBytes} bytes; nothing was stored.` });
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const declared = c.req.header("content-length");
    if (declared === undefined || c.req.header("transfer-encoding") !== undefined) return streamed(c, next);
    if (Number(declared) > maxBytes) return tooLarge(c);
    await next();
  };
}

/**
 * Reads a JSON body: the parsed value, or the failure to answer (415 unless
 * Content-Type says JSON, 400 when the text is not JSON).
 */
export async function readJson(c: HonoContext): Promise<{ ok: true; value: unknown } | { ok: false; error: Failure }> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type))
    return {
      ok: false,
      error: {
        code: "unsupported_media_type",
        message: `Content-Type must be application/json (got ${type ? JSON.stringify(type.slice(0, 100)) : "none"}); nothing was stored.`,
      },
    };
  const text = await c.req.text();
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // JSON.parse's message quotes the body; a reply never repeats what was sent.
    return {
      ok: false,
      error: {
        code: "invalid_json",
        message: "The body is not valid JSON; nothing was stored. Send one JSON object (or an array for /resource-share/increments).",
      },
    };
  }
}

/** Runs a handler and answers its result: 200 with the value, or the failure's status and body. */
export async function answer(c: HonoContext, name: HandlerName, input: unknown, ctx: Context): Promise<Response> {
  const result = await runHandler(name, input, ctx);
  return result.ok ? c.json(result.value as object, 200) : failureResponse(c, result.error);
}
