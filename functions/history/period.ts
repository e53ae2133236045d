import { addDays } from "../../shared/time.ts";

/**
 * The periods a history report covers, as local calendar days: an ISO week
 * (Monday to Sunday) or a calendar month. Pure day arithmetic: which
 * instants a day spans is shared/time.ts's business, so a week with a
 * daylight-saving change still has seven days (one of 23 or 25 hours).
 */
export type PeriodKind = "week" | "month";

export interface Period {
  kind: PeriodKind;
  /** "2026-W49" or "2026-12". */
  label: string;
  /** First and last local day, both included. */
  from: string;
  to: string;
}

/** Monday = 0 ... Sunday = 6. */
const weekday = (day: string): number => (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;

/** ISO-8601 week label: the week belongs to the year of its Thursday. */
function isoWeekLabel(monday: string): string {
  const thursday = addDays(monday, 3);
  const year = thursday.slice(0, 4);
  const dayOfYear = (Date.parse(`${thursday}T00:00:00Z`) - Date.parse(`${year}-01-01T00:00:00Z`)) / 86_400_000;
  return `${year}-W${String(Math.floor(dayOfYear / 7) + 1).padStart(2, "0")}`;
}

/** The week or month that holds `day`. */
export function periodOf(kind: PeriodKind, day: string): Period {
  if (kind === "week") {
    const from = addDays(day, -weekday(day));
    return { kind, label: isoWeekLabel(from), from, to: addDays(from, 6) };
  }
  const from = `${day.slice(0, 7)}-01`;
  const [y, m] = [Number(day.slice(0, 4)), Number(day.slice(5, 7))];
  const next = m === 12 ? `${String(y + 1).padStart(4, "0")}-01-01` : `${day.slice(0, 4)}-${String(m + 1).padStart(2, "0")}-01`;
  return { kind, label: day.slice(0, 7), from, to: addDays(next, -1) };
}

/** The period just before. */
export const previousPeriod = (p: Period): Period => periodOf(p.kind, addDays(p.from, -1));

/** The period just after. */
export const nextPeriod = (p: Period): Period => periodOf(p.kind, addDays(p.to, 1));
