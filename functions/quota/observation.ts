import * as v from "valibot";
import { WINDOW_NAME } from "../../shared/advice-settings.ts";
import { plainText } from "../../shared/fields.ts";
import { parseIsoTime } from "../../shared/time.ts";

/**
 * One reading of a quota window, as a scraper, Claude Code's statusLine or
 * the seed's quota_info table tells it: how full the window is and when it
 * resets. Stored as a row of `quota_observations`.
 */
export interface QuotaRow {
  observed_at: string;
  window: string;
  used_percentage: number;
  resets_at: string;
  source: string;
  received_at: string;
}

// Epoch seconds from 2001 to 5138: a figure in milliseconds (13 digits) is a mistake worth naming.
const EPOCH_MIN = 1e9;
const EPOCH_MAX = 1e11;

/** Unix ms of an instant sent as ISO-8601 with an offset or as epoch seconds; undefined otherwise. */
export function parseInstant(x: unknown): number | undefined {
  if (typeof x === "number") return Number.isFinite(x) && x >= EPOCH_MIN && x < EPOCH_MAX ? Math.round(x * 1000) : undefined;
  if (typeof x === "string") return parseIsoTime(x);
  return undefined;
}

const INSTANT = "must be an ISO-8601 time with an offset (2026-12-10T18:00:00Z) or epoch seconds (1764950400)";

export const instant = v.pipe(
  v.custom<string | number>((x) => parseInstant(x) !== undefined, INSTANT),
  // What the custom check takes, for the API description (GET /openapi.json): its code cannot be converted.
  v.metadata({ type: ["string", "number"], description: INSTANT.replace(/^must be /, "") }),
  v.transform((x) => parseInstant(x)!),
);

export const windowName = v.pipe(
  v.string("must be a string"),
  v.regex(WINDOW_NAME, 'must be "five_hour", "seven_day" or "seven_day_<family>" (family: 1-32 of a-z, 0-9, _)'),
);

export const usedPercentage = v.pipe(
  v.number("must be a number from 0 to 100"),
  v.finite("must be a number from 0 to 100"),
  v.minValue(0, "must be from 0 to 100"),
  v.maxValue(100, "must be from 0 to 100"),
);

/** A window as Claude Code's statusLine gives it: `{"used_percentage": 41, "resets_at": 1764950400}`. */
export const windowReading = v.object({ used_percentage: usedPercentage, resets_at: instant });

/** `rate_limits` in a report: `{"five_hour": {...}, "seven_day": {...}}`; a window may be null (not known yet). */
export const rateLimits = v.record(windowName, v.nullable(windowReading));

export const observationSchema = v.object({
  window: windowName,
  used_percentage: usedPercentage,
  resets_at: instant,
  observed_at: v.optional(v.nullable(instant)),
  source: v.optional(v.pipe(plainText, v.minLength(1, "must not be empty"), v.maxLength(64, "must be at most 64 characters"))),
});

export type Observation = v.InferOutput<typeof observationSchema>;

/** An observation that tells nothing now, and why; undefined when it is usable. */
export function staleness(observedAt: number, resetsAt: number, now: number): string | undefined {
  // A minute of slack absorbs clocks that differ between hosts.
  if (observedAt > now + 60_000) return "observed_at is more than a minute in the future; check the sender's clock";
  if (resetsAt <= now) return "resets_at has passed: the window has reset since, so this reading no longer says anything";
  if (resetsAt <= observedAt) return "resets_at is not after observed_at";
  return undefined;
}

export function toQuotaRow(o: { window: string; used_percentage: number; resets_at: number }, observedAt: number, source: string, now: Date): QuotaRow {
  return {
    observed_at: new Date(observedAt).toISOString(),
    window: o.window,
    used_percentage: o.used_percentage,
    resets_at: new Date(o.resets_at).toISOString(),
    source,
    received_at: now.toISOString(),
  };
}

export const INSERT_QUOTA_COLUMNS = ["observed_at", "window", "used_percentage", "resets_at", "source", "received_at"] as const;

// 6 parameters a row: 5,000 rows stay below SQLite's limit of 32,766 per statement.
const CHUNK = 5000;

/** INSERTs for many observations, one per 5,000 (run them in one batch). */
export function insertQuotaRows(rows: QuotaRow[]): { sql: string; args: (string | number)[] }[] {
  const one = `(${INSERT_QUOTA_COLUMNS.map(() => "?").join(", ")})`;
  const statements = [];
  for (let at = 0; at < rows.length; at += CHUNK) {
    const chunk = rows.slice(at, at + CHUNK);
    statements.push({
      sql: `INSERT INTO quota_observations (${INSERT_QUOTA_COLUMNS.join(", ")}) VALUES ${chunk.map(() => one).join(", ")}`,
      args: chunk.flatMap((r) => INSERT_QUOTA_COLUMNS.map((c) => r[c])),
    });
  }
  return statements;
}

/**
 * The readings a report with an event id carried, kept only if that event
 * is not stored yet: a repeated report changes nothing, its readings
 * included. Run before the report's own INSERT, in the same transaction.
 */
export function insertQuotaRowsOfNewEvent(rows: QuotaRow[], claudeName: string, eventId: string): { sql: string; args: (string | number)[] } {
  const one = `(${INSERT_QUOTA_COLUMNS.map(() => "?").join(", ")})`;
  return {
    sql: `INSERT INTO quota_observations (${INSERT_QUOTA_COLUMNS.join(", ")})
  SELECT * FROM (VALUES ${rows.map(() => one).join(", ")})
  WHERE NOT EXISTS (SELECT 1 FROM resource_share_increments WHERE claude_name = ? AND event_id = ?)`,
    args: [...rows.flatMap((r) => INSERT_QUOTA_COLUMNS.map((c) => r[c])), claudeName, eventId],
  };
}
