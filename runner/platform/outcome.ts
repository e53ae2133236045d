import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Failure, FailureCode } from "../../shared/result.ts";

/** How each expected failure is told to an HTTP client and to a shell. */
const STATUS: Record<FailureCode, ContentfulStatusCode> = {
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
};

export const httpStatus = (f: Failure): ContentfulStatusCode => STATUS[f.code];

/** CLI exit codes: 0 done, 1 the input or request was refused, 2 a fault. */
export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_FAULT = 2;

/** The JSON body for a failure; never includes the request itself. */
export function failureBody(f: Failure): Record<string, unknown> {
  return { status: "error", error: f.code, message: f.message, ...(f.issues ? { issues: f.issues } : {}) };
}
