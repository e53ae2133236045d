import { localMinute } from "../../shared/time.ts";

/** How numbers and times read on the viewer's pages (one place, so pages agree). */

export const tokens = (n: number): string => Math.round(n).toLocaleString("en-US");

export const usd = (n: number): string =>
  `$${n.toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 })}`;

export const percent = (part: number, whole: number): string =>
  whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "—";

/** Short axis labels: 950, 12k, 3.4M. */
export function compact(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** "2026-11-28 14:03" in the family's zone. */
export const localTime = (ms: number, timeZone: string): string => localMinute(ms, timeZone);

/** "12 minutes", "5 hours", "3 days": the largest unit that still says enough. */
export function span(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "under a minute";
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.floor(hours / 24)} days`;
}
