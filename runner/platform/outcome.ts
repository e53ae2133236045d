import type { Context as HonoContext } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Failure, FailureCode } from "../../shared/result.ts";

/**
 * How each failure is told, in one place: its HTTP status, its JSON body
 * (the same for HTTP and `runner invoke`), and its CLI exit code.
 */
const STATUS: Record<FailureCode, ContentfulStatusCode> = {
  invalid_input: 400,
  invalid_json: 400,
  unauthorized: 401,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

export const httpStatus = (f: Failure): ContentfulStatusCode => STATUS[f.code];

/** Every failure code, e.g. for a metric's label values. */
export const FAILURE_CODES = Object.keys(STATUS) as FailureCode[];

declare module "hono" {
  interface ContextVariableMap {
    /** The code of the failure a request was answered with (failureResponse sets it; the metrics count it). */
    failure: FailureCode;
  }
}

/** CLI exit codes: 0 done, 1 the input or request was refused, 2 a fault (the database unavailable, a bug). */
export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_FAULT = 2;

export const exitCode = (f: Failure): number => (f.code === "unavailable" || f.code === "internal" ? EXIT_FAULT : EXIT_REFUSED);

/** The JSON body for a failure; never includes the request itself. */
export function failureBody(f: Failure): Record<string, unknown> {
  return { status: "error", error: f.code, message: f.message, ...(f.issues ? { issues: f.issues } : {}) };
}

/**
 * The HTTP answer for a failure. A 401 says how to authenticate; a 503
 * says when to come back (`retryAfterS`, 5 s unless told otherwise).
 */
export function failureResponse(c: HonoContext, f: Failure, { retryAfterS = 5 }: { retryAfterS?: number } = {}): Response {
  c.set("failure", f.code);
  if (f.code === "unauthorized") c.header("WWW-Authenticate", 'Bearer realm="resource-share"');
  if (f.code === "unavailable" || f.code === "rate_limited") c.header("Retry-After", String(retryAfterS));
  return c.json(failureBody(f), httpStatus(f));
}
