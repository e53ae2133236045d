/**
 * Calendar days in a time zone. A "day" is a local calendar day, so it can
 * last 23 or 25 hours around a daylight-saving change; everything that
 * buckets reports into days goes through these functions.
 */

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

function dayFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = dayFormatters.get(timeZone);
  if (!f) {
    // en-CA formats dates as YYYY-MM-DD.
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormatters.set(timeZone, f);
  }
  return f;
}

let listedZones: Set<string> | undefined;

// ICU's list holds only geographic zones, but UTC, the usual setting on a
// server (install.sh writes the machine's zone), goes by these names.
const UTC_NAMES = ["UTC", "Etc/UTC", "GMT", "Etc/GMT"];

/**
 * The zone's canonical name, as ICU resolves it, or undefined when ICU does
 * not know it: "utc" and "Etc/UTC" are "UTC", "europe/berlin" is
 * "Europe/Berlin", "US/Pacific" is "America/Los_Angeles". Days are
 * remembered with their zone (closed_days.zone), so one zone must have one
 * name: "utc" and "UTC" are not a change of zone.
 *
 * A name in ICU's list of canonical zones, or UTC, is looked up; only
 * another name (an alias, another case) is tried on a formatter. The first
 * formatter makes node map megabytes of ICU's locale data, which a process
 * that never computes a day (the webhook while it only stores reports) then
 * does without.
 */
export function canonicalTimeZone(name: string): string | undefined {
  listedZones ??= new Set([...Intl.supportedValuesOf("timeZone"), ...UTC_NAMES]);
  if (listedZones.has(name)) return UTC_NAMES.includes(name) ? "UTC" : name;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Whether ICU knows the zone (by any of its names; see canonicalTimeZone). */
export const isTimeZone = (name: string): boolean => canonicalTimeZone(name) !== undefined;

/** The local calendar day (YYYY-MM-DD) of an instant. */
export function localDay(at: Date | number, timeZone: string): string {
  return dayFormatter(timeZone).format(typeof at === "number" ? at : at.getTime());
}

const timeFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
function offsetAt(at: number, timeZone: string): number {
  let f = timeFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
    timeFormatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(at)) if (part.type !== "literal") p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - (at - (((at % 1000) + 1000) % 1000));
}

/** "2026-11-28 14:03": an instant's local date and time to the minute. */
export function localMinute(at: number, timeZone: string): string {
  return new Date(at + offsetAt(at, timeZone)).toISOString().slice(0, 16).replace("T", " ");
}

/** `day` shifted by `n` calendar days (n may be negative). */
export function addDays(day: string, n: number): string {
  const t = Date.parse(`${day}T00:00:00Z`) + n * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** How many days `from`..`to` covers, both included. */
export const spanDays = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;

/** The longest range of days one call may take (ten years): a typo in a year should not run for hours. */
export const MAX_RANGE_DAYS = 3660;

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}

/**
 * The first instant (Unix ms) of a local day: local midnight, or the first
 * instant after it where a zone skips midnight itself. `offsetHint` (ms east
 * of UTC) makes consecutive days cheap: offsets rarely change between them.
 */
export function startOfDay(day: string, timeZone: string, offsetHint?: number): number {
  const utcMidnight = Date.parse(`${day}T00:00:00Z`);
  const isStart = (t: number) => localDay(t, timeZone) === day && localDay(t - 1, timeZone) < day;
  if (offsetHint !== undefined && isStart(utcMidnight - offsetHint)) return utcMidnight - offsetHint;
  const guess = utcMidnight - offsetAt(utcMidnight - offsetAt(utcMidnight, timeZone), timeZone);
  if (isStart(guess)) return guess;
  // A zone that skips midnight: binary search between the widest offsets
  // any zone has (14 h ahead of UTC, 12 h behind).
  let lo = utcMidnight - 15 * 3_600_000; // localDay(lo) < day
  let hi = utcMidnight + 13 * 3_600_000; // localDay(hi) >= day
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDay(mid, timeZone) < day) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The half-open span [start, end) of a local day in Unix ms. */
export function dayBounds(day: string, timeZone: string): { start: number; end: number } {
  const [start, end] = dayStarts([day, addDays(day, 1)], timeZone) as [number, number];
  return { start, end };
}

/** The first instant of each of `days` (ascending), cheaply for long runs. */
export function dayStarts(days: string[], timeZone: string): number[] {
  let hint: number | undefined;
  return days.map((day) => {
    const start = startOfDay(day, timeZone, hint);
    hint = Date.parse(`${day}T00:00:00Z`) - start;
    return start;
  });
}

// ISO-8601 with a zone: "2026-01-02T03:04:05Z", "...05.678+01:00".
export const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Unix ms of an ISO-8601 time with an offset, or undefined when it is not one (or names a day that does not exist). */
export function parseIsoTime(s: string): number | undefined {
  if (!ISO_WITH_ZONE.test(s)) return undefined;
  const ms = Date.parse(s);
  // Date.parse rolls 2026-02-30 over to March: compare the date part back.
  return !Number.isNaN(ms) && new Date(ms + offsetMs(s)).toISOString().slice(0, 10) === s.slice(0, 10) ? ms : undefined;
}

function offsetMs(iso: string): number {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(iso);
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
}
