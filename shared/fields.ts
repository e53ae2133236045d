import * as v from "valibot";

/**
 * Field schemas used by more than one handler. Messages say what is wrong in
 * words a client author can act on; the field name is added by validate().
 */

// Control characters (C0, DEL, C1) make names that break logs and terminals;
// a NUL also cuts the text short when SQLite hands it back.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Half of a UTF-16 surrogate pair cannot be stored as UTF-8: it would come
// back as U+FFFD, a different name than the one sent.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The checks every stored text field gets: no control characters, valid Unicode. */
export const plainText = v.pipe(
  v.string("must be a string"),
  v.check((s) => !CONTROL.test(s), "must not contain control characters"),
  v.check((s) => !LONE_SURROGATE.test(s), "must be valid Unicode text (it holds half of a surrogate pair)"),
);

export const claudeName = v.pipe(
  v.string("must be a string"),
  v.trim(),
  v.minLength(1, "must not be empty or only whitespace"),
  v.maxLength(64, "must be at most 64 characters"),
  plainText,
);

export const mode = v.picklist(["autonomy", "collaboration"], 'must be "autonomy" or "collaboration"');
export type Mode = v.InferOutput<typeof mode>;

/**
 * A calendar day, YYYY-MM-DD, that exists (2026-02-30 and 2026-13-01 do
 * not). The one date check: handlers use the schema, the viewer dayProblem.
 */
export const isoDay = v.pipe(
  v.string("must be a date as YYYY-MM-DD"),
  v.regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD"),
  v.check((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, "is not a real calendar day"),
);

/** What is wrong with `text` as a day, in isoDay's words ("is not a real calendar day"), or undefined if nothing is. */
export function dayProblem(text: string): string | undefined {
  const parsed = v.safeParse(isoDay, text);
  return parsed.success ? undefined : parsed.issues[0].message;
}
