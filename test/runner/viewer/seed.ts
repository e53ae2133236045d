import type { TestStore } from "../../support/backends.ts";

export const XSS_NAME = "<img src=x onerror=alert(1)>";
export const AGENTS = ["Sparkle-Orange", "Quiet-Blue", XSS_NAME] as const;

/**
 * A zone where it is about noon now, so "today" in the tests is never a
 * minute from midnight; Etc/GMT-X means UTC+X (POSIX sign). `shift` is
 * what sqlite3's date() needs to land in that zone.
 */
export function noonZone(now = new Date()): { zone: string; shift: string } {
  const hours = 12 - now.getUTCHours(); // -11 .. 12
  // At 12:00 UTC it is UTC itself: the service shows Etc/GMT by that canonical name.
  const zone = hours === 0 ? "UTC" : `Etc/GMT${hours > 0 ? "-" : "+"}${Math.abs(hours)}`;
  return { zone, shift: `${hours >= 0 ? "+" : ""}${hours} hours` };
}

/**
 * A migrated database with 30 days of reports from three agents (one
 * silent for hours, one named like an HTML injection), some rows in the
 * original system's timestamp format, NULL costs, and an agent that never
 * reported. Written from outside the service, as a person would: with the
 * sqlite3 CLI on a file, through the HTTP API on a libSQL server.
 */
export function seedDatabase(store: TestStore): void {
  store.run(
    `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 900)
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta, context_percentage)
     SELECT CASE i % 3 WHEN 0 THEN 'Sparkle-Orange' WHEN 1 THEN 'Quiet-Blue' ELSE '${XSS_NAME}' END,
       CASE WHEN i % 10 = 0
         THEN strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || ((i - 1) * 47 + CASE i % 3 WHEN 1 THEN 180 ELSE 5 END) || ' minutes')
         ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || ((i - 1) * 47 + CASE i % 3 WHEN 1 THEN 180 ELSE 5 END) || ' minutes') END,
       CASE WHEN i % 4 = 0 THEN 'collaboration' ELSE 'autonomy' END,
       (i * 137) % 5000 + 1,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 50) / 1000.0 END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE i % 100 END
     FROM s;
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta)
       VALUES ('Sparkle-Orange', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 minutes'), 'collaboration', 4321, 0.5);
     INSERT INTO claude_identities (name, first_seen, last_seen)
       SELECT claude_name, min(timestamp), max(timestamp) FROM resource_share_increments GROUP BY claude_name;
     INSERT INTO claude_identities (name, first_seen, last_seen) VALUES ('Never-Reported', NULL, NULL);`,
  );
}
