import * as v from "valibot";
import { invalid, ok, type FieldIssue, type Result } from "./result.ts";

/**
 * Parses `input` with a valibot schema and turns every problem into a
 * `FieldIssue` naming the field by its dot path (`[3].mode` in a batch).
 * The input itself is never echoed back: a bad request may be huge or secret.
 */
export function validate<S extends v.GenericSchema>(schema: S, input: unknown): Result<v.InferOutput<S>> {
  const parsed = v.safeParse(schema, input);
  if (parsed.success) return ok(parsed.output);
  return invalid(parsed.issues.map(toFieldIssue));
}

function toFieldIssue(issue: v.BaseIssue<unknown>): FieldIssue {
  const path = issue.path ?? [];
  const field = path
    .map((item) => (typeof item.key === "number" ? `[${item.key}]` : String(item.key)))
    .join(".")
    .replace(/\.\[/g, "[");
  return { field: field || "body", message: messageFor(issue, path.length) };
}

/** valibot's own wording for structural problems reads like a stack trace; say it plainly. */
function messageFor(issue: v.BaseIssue<unknown>, depth: number): string {
  // strictObject reports a key it does not know as expecting "never".
  if (issue.type === "strict_object" && issue.expected === "never") return "is not a known field (check its spelling)";
  if (issue.type === "object" || issue.type === "loose_object" || issue.type === "strict_object") {
    if (depth > 0 && issue.input === undefined) return "is required";
    return "must be a JSON object";
  }
  return issue.message;
}
