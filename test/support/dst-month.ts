import { execFileSync } from "node:child_process";
import type { Db } from "../../shared/context.ts";
import { insertIncrements, seededRandom, type TestIncrement } from "./increments.ts";

/**
 * A family's September and October 2026 in Europe/Berlin, whose clocks go
 * back on Sunday 25 October (03:00 CEST is 02:00 CET: a 25-hour day, local
 * 02:00-02:59 twice). Reports every few hours per agent with random sizes
 * and modes, some in the original system's timestamp format, some without a
 * cost; reports on both sides of each local midnight around the change and
 * in both 02:00 hours; quota readings; and weights that differ.
 */
export const DST_ZONE = "Europe/Berlin";
export const DST_AGENTS = { "Sparkle-Orange": 2, "Quiet-Blue": 1, "Night-Owl": 1, "Rare-Finch": 0.5 } as const;
/** Days in October are all in the past at this instant. */
export const DST_NOW = new Date("2026-11-05T11:00:00Z");

export async function seedDstMonth(db: Db): Promise<void> {
  const rand = seededRandom(20261025);
  const rows: TestIncrement[] = [];
  const start = Date.parse("2026-08-31T20:00:00Z");
  const end = Date.parse("2026-11-01T04:00:00Z");
  const names = Object.keys(DST_AGENTS);
  for (let t = start; t < end; t += 37 * 60_000) {
    const name = names[Math.floor(rand() * names.length)]!;
    // Rare-Finch works seldom, and never in September: its change has no base.
    if (name === "Rare-Finch" && (t < Date.parse("2026-10-01") || rand() < 0.8)) continue;
    const iso = new Date(t + Math.floor(rand() * 60_000)).toISOString();
    rows.push({
      claude_name: name,
      timestamp: rand() < 0.1 ? iso.slice(0, 19).replace("T", " ") : iso,
      mode: rand() < 0.35 ? "collaboration" : "autonomy",
      cache_read_increment: Math.floor(rand() * 50_000),
      cost_delta: rand() < 0.15 ? null : Math.round(rand() * 1e6) / 1e6,
    });
  }
  const edge = (claude_name: string, timestamp: string, cache_read_increment: number): TestIncrement => ({ claude_name, timestamp, mode: "autonomy", cache_read_increment, cost_delta: 0.01 });
  rows.push(
    edge("Night-Owl", "2026-10-24T21:59:59.999Z", 700_001), // 24 Oct 23:59:59 CEST
    edge("Night-Owl", "2026-10-24T22:00:00.000Z", 700_002), // 25 Oct 00:00 CEST
    edge("Night-Owl", "2026-10-25T00:30:00.000Z", 700_003), // 02:30 CEST, the first 02:00 hour
    edge("Night-Owl", "2026-10-25T01:30:00.000Z", 700_004), // 02:30 CET, the second
    edge("Night-Owl", "2026-10-25T22:59:59.999Z", 700_005), // 25 Oct 23:59:59 CET
    edge("Night-Owl", "2026-10-31T22:59:59.999Z", 700_006), // 31 Oct 23:59:59 CET
    edge("Night-Owl", "2026-10-31T23:00:00.000Z", 700_007), // 1 Nov 00:00 CET: November
    edge("Night-Owl", "2026-09-30T21:59:59.999Z", 700_008), // 30 Sep 23:59:59 CEST
  );
  await insertIncrements(db, rows, "2026-11-05T10:00:00.000Z");
  await db.batch(
    [
      ...Object.entries(DST_AGENTS).map(([name, weight]) => ({ sql: "INSERT INTO claude_identities (name, weight) VALUES (?, ?)", args: [name, weight] })),
      ...[
        ["2026-09-30T21:00:00.000Z", "seven_day", 97], // 30 Sep 23:00 CEST: September
        ["2026-10-03T09:00:00.000Z", "seven_day", 41],
        ["2026-10-25T01:10:00.000Z", "seven_day", 88],
        ["2026-10-25T01:20:00.000Z", "five_hour", 64],
        ["2026-10-12T13:00:00.000Z", "five_hour", 71],
        ["2026-10-31T23:30:00.000Z", "five_hour", 99], // 1 Nov 00:30 CET: November
      ].map(([at, window, used]) => ({
        sql: "INSERT INTO quota_observations (observed_at, window, used_percentage, resets_at, source, received_at) VALUES (?, ?, ?, ?, 'test', ?)",
        args: [at!, window!, used!, "2026-11-10T00:00:00.000Z", at!],
      })),
    ],
    "write",
  );
}

/** Rows from the real sqlite3 CLI with its C library's local time in `timeZone`: independent of the service's Intl arithmetic. */
export function sqlite3Local<T = Record<string, unknown>>(path: string, sql: string, timeZone = DST_ZONE): T[] {
  const out = execFileSync("sqlite3", ["-json", path, sql], { encoding: "utf8", env: { ...process.env, TZ: timeZone }, maxBuffer: 64 << 20 }).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

export interface Expected {
  claude_name: string;
  a: number;
  c: number;
  ac: number;
  cc: number;
  n: number;
  days: number;
}

/** The period's figures per agent, summed by sqlite3 over local days of its own reckoning. */
export function expectedSums(path: string, from: string, to: string): Expected[] {
  return sqlite3Local<Expected>(
    path,
    `SELECT claude_name,
       sum(CASE WHEN mode = 'autonomy' THEN cache_read_increment ELSE 0 END) AS a,
       sum(CASE WHEN mode = 'collaboration' THEN cache_read_increment ELSE 0 END) AS c,
       total(CASE WHEN mode = 'autonomy' THEN cost_delta END) AS ac,
       total(CASE WHEN mode = 'collaboration' THEN cost_delta END) AS cc,
       count(*) AS n, count(DISTINCT date(timestamp, 'localtime')) AS days
     FROM resource_share_increments WHERE date(timestamp, 'localtime') BETWEEN '${from}' AND '${to}'
     GROUP BY claude_name ORDER BY claude_name`,
  );
}

