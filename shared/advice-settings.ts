import { addDays, localDay, startOfDay } from "./time.ts";

/**
 * The settings of the fair-share advice and the quota windows, parsed from
 * their environment text once at start (shared/config.ts). Each parser
 * returns the value or a message for the person who set it.
 */

/** A configured size of a quota window, used where no observation of it exists. */
export interface Budget {
  window: string;
  amount: number;
  /** Tokens (cache_read_increment), or USD (cost_delta) when written with a `$`. */
  unit: "tokens" | "usd";
}

/** A weekday (0 Sunday .. 6 Saturday) and minutes after local midnight. */
export interface WeeklyReset {
  weekday: number;
  minutes: number;
}

/** The human's working hours, local time: the days of the week (0 Sunday) and a span of minutes. */
export interface WorkHours {
  days: number[];
  from: number;
  to: number;
}

export interface AdviceSettings {
  baseInterval: number;
  minInterval: number;
  maxInterval: number;
  targetPercent: number;
  workHours: WorkHours;
  budgets: Budget[];
  weeklyReset: WeeklyReset;
}

export const WINDOW_NAME = /^(five_hour|seven_day|seven_day_[a-z0-9_]{1,32})$/;

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

export const DEFAULT_ADVICE: AdviceSettings = {
  baseInterval: 1800,
  minInterval: 300,
  maxInterval: 14400,
  targetPercent: 90,
  workHours: { days: [1, 2, 3, 4, 5], from: 9 * 60, to: 18 * 60 },
  budgets: [],
  weeklyReset: { weekday: 1, minutes: 0 },
};

function clock(text: string): number | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [h, min] = [Number(m[1]), Number(m[2])];
  return h <= 24 && min < 60 && h * 60 + min <= 1440 ? h * 60 + min : undefined;
}

const day = (text: string) => {
  const i = DAYS.indexOf(text.slice(0, 3).toLowerCase());
  return text.length >= 3 && i >= 0 ? i : undefined;
};

/** `"Mon-Fri 09:00-18:00"`, `"Mon,Wed,Fri 10:00-16:00"`, `"Sat-Sun 08:00-12:00"`; `none` for a human who never works with the agents. */
export function parseWorkHours(text: string): WorkHours | string {
  const bad = `must be days and hours such as "Mon-Fri 09:00-18:00" (or "none")`;
  if (text.trim().toLowerCase() === "none") return { days: [], from: 0, to: 0 };
  const m = /^\s*([A-Za-z,-]+)\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*$/.exec(text);
  if (!m) return bad;
  const days = new Set<number>();
  for (const part of m[1]!.split(",")) {
    const [a, b] = part.split("-");
    const first = day(a ?? "");
    const last = b === undefined ? first : day(b);
    if (first === undefined || last === undefined) return bad;
    for (let d = first; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === last) break;
    }
  }
  const from = clock(m[2]!);
  const to = clock(m[3]!);
  if (from === undefined || to === undefined || from >= to) return bad;
  return { days: [...days].sort(), from, to };
}

/** `"Mon 00:00"`: when the weekly window resets, local time. */
export function parseWeeklyReset(text: string): WeeklyReset | string {
  const m = /^\s*([A-Za-z]+)\s+(\d{1,2}:\d{2})\s*$/.exec(text);
  const weekday = m ? day(m[1]!) : undefined;
  const minutes = m ? clock(m[2]!) : undefined;
  if (weekday === undefined || minutes === undefined || minutes >= 1440) return `must be a weekday and a time such as "Mon 00:00"`;
  return { weekday, minutes };
}

/** `"seven_day=200000000,five_hour=20000000"` tokens; `"seven_day=$150"` USD. */
export function parseBudgets(text: string): Budget[] | string {
  const budgets: Budget[] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z0-9_]+)=(\$?)(\d+(?:\.\d+)?)$/.exec(part);
    if (!m || !WINDOW_NAME.test(m[1]!) || !(Number(m[3]) > 0))
      return `must be window=amount pairs such as "seven_day=200000000,five_hour=$20" (windows five_hour, seven_day or seven_day_<family>; amounts in tokens, or USD after a $; got "${part}")`;
    if (budgets.some((b) => b.window === m[1])) return `names the window ${m[1]} twice`;
    budgets.push({ window: m[1]!, amount: Number(m[3]), unit: m[2] ? "usd" : "tokens" });
  }
  return budgets;
}

// The advice asks for the same few days' starts at every refresh; each costs
// a few date formatters. Days do not change where they start.
const starts = new Map<string, number>();
function dayStart(day: string, timeZone: string): number {
  const key = `${timeZone} ${day}`;
  let at = starts.get(key);
  if (at === undefined) {
    if (starts.size > 1000) starts.clear();
    starts.set(key, (at = startOfDay(day, timeZone)));
  }
  return at;
}

/** The last weekly reset at or before `now` (Unix ms), in the zone's local time. */
export function lastWeeklyReset(now: number, reset: WeeklyReset, timeZone: string): number {
  let d = localDay(now, timeZone);
  for (let i = 0; i < 8; i++, d = addDays(d, -1)) {
    if (new Date(`${d}T12:00:00Z`).getUTCDay() !== reset.weekday) continue;
    const at = dayStart(d, timeZone) + reset.minutes * 60_000;
    if (at <= now) return at;
  }
  return now - 7 * 86_400_000;
}

/**
 * Seconds of the human's working hours between two instants. Working hours
 * are placed from local midnight, so on the two daylight-saving days of a
 * year they are off by the hour the clocks moved: close enough for a reserve.
 */
export function workingSeconds(from: number, to: number, hours: WorkHours, timeZone: string): number {
  if (to <= from || hours.days.length === 0) return 0;
  let total = 0;
  const last = localDay(to, timeZone);
  for (let d = localDay(from, timeZone); d <= last; d = addDays(d, 1)) {
    if (!hours.days.includes(new Date(`${d}T12:00:00Z`).getUTCDay())) continue;
    const start = dayStart(d, timeZone);
    const a = Math.max(from, start + hours.from * 60_000);
    const b = Math.min(to, start + hours.to * 60_000);
    if (b > a) total += (b - a) / 1000;
  }
  return total;
}
