/**
 * Expected failures travel as values; faults (a broken database, a bug) are
 * thrown. The runner maps each code to an HTTP status and a CLI exit code in
 * one place (runner/platform/outcome.ts).
 */

export type FailureCode =
  // the request is wrong: nothing was changed, sending it again will not help
  | "invalid_input"
  | "invalid_json"
  | "unsupported_media_type"
  | "payload_too_large"
  | "unauthorized"
  | "not_found"
  // too many wrong passwords from one address: wait (Retry-After) before the next try
  | "rate_limited"
  // the service cannot do it now: nothing was changed, try again later
  | "unavailable"
  | "internal";

/** One problem with one field, e.g. `{ field: "mode", message: "must be ..." }`. */
export interface FieldIssue {
  field: string;
  message: string;
}

export interface Failure {
  code: FailureCode;
  message: string;
  issues?: FieldIssue[];
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = (code: FailureCode, message: string, issues?: FieldIssue[]): Result<never> => ({
  ok: false,
  error: issues ? { code, message, issues } : { code, message },
});

/** An invalid-input failure whose message lists every field problem. */
export function invalid(issues: FieldIssue[]): Result<never> {
  const message = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; ");
  return fail("invalid_input", message, issues);
}
