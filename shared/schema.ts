/**
 * The tables as people see them in the sqlite3 shell. Names and the seed's
 * columns are a public interface: never rename them. Columns added after the
 * original Python system come after the seed's own, so a database that system
 * made can be brought up to date by adding the missing ones (see migrations.ts).
 */

export interface TableSpec {
  name: string;
  /** Column name → definition, in table order. */
  columns: [string, string][];
  /** Table constraints for a freshly created table. */
  constraints?: string[];
}

// The instant a report describes, as Unix ms, derived from `timestamp` so
// that new ISO-8601 rows ("2026-01-02T03:04:05.678Z") and rows of the
// original system ("2026-01-02 03:04:05", UTC) count in the same day. A
// virtual column: computed on read, indexed, never out of step with the text.
export const TIMESTAMP_MS =
  "INTEGER GENERATED ALWAYS AS (CAST(round((julianday(timestamp) - 2440587.5) * 86400000) AS INTEGER)) VIRTUAL";

export const TABLES: TableSpec[] = [
  {
    name: "claude_identities",
    columns: [
      ["id", "INTEGER PRIMARY KEY AUTOINCREMENT"],
      ["name", "TEXT NOT NULL UNIQUE"],
      ["first_seen", "TEXT"],
      ["last_seen", "TEXT"],
      ["active", "INTEGER NOT NULL DEFAULT 1"],
    ],
  },
  {
    name: "resource_share_increments",
    columns: [
      ["id", "INTEGER PRIMARY KEY AUTOINCREMENT"],
      ["claude_name", "TEXT NOT NULL"],
      ["timestamp", "TEXT NOT NULL"],
      ["mode", "TEXT NOT NULL CHECK (mode IN ('autonomy', 'collaboration'))"],
      ["cache_read_increment", "INTEGER NOT NULL DEFAULT 0"],
      ["context_percentage", "REAL"],
      ["cost_delta", "REAL"],
      ["event_id", "TEXT"],
      ["received_at", "TEXT"],
      ["host", "TEXT"],
      ["timestamp_ms", TIMESTAMP_MS],
    ],
  },
  {
    name: "daily_resource_share",
    columns: [
      ["id", "INTEGER PRIMARY KEY AUTOINCREMENT"],
      ["claude_name", "TEXT NOT NULL"],
      ["date", "TEXT NOT NULL"],
      ["autonomous_tokens", "INTEGER NOT NULL DEFAULT 0"],
      ["collaborative_tokens", "INTEGER NOT NULL DEFAULT 0"],
      ["total_tokens", "INTEGER NOT NULL DEFAULT 0"],
      ["last_updated", "TEXT"],
      ["autonomous_cost", "REAL NOT NULL DEFAULT 0"],
      ["collaborative_cost", "REAL NOT NULL DEFAULT 0"],
      ["total_cost", "REAL NOT NULL DEFAULT 0"],
      ["autonomous_reports", "INTEGER NOT NULL DEFAULT 0"],
      ["collaborative_reports", "INTEGER NOT NULL DEFAULT 0"],
      ["report_count", "INTEGER NOT NULL DEFAULT 0"],
    ],
    constraints: ["UNIQUE (claude_name, date)"],
  },
  {
    name: "fair_allocations",
    columns: [
      ["id", "INTEGER PRIMARY KEY AUTOINCREMENT"],
      ["claude_name", "TEXT NOT NULL"],
      ["date", "TEXT NOT NULL"],
      ["fair_share_tokens", "INTEGER"],
      ["used_tokens", "INTEGER"],
      ["calculated_at", "TEXT"],
    ],
  },
];

export const INDEXES: string[] = [
  // ON CONFLICT targets need these even on tables adopted from the seed.
  "CREATE UNIQUE INDEX IF NOT EXISTS claude_identities_name ON claude_identities (name)",
  "CREATE UNIQUE INDEX IF NOT EXISTS daily_resource_share_agent_date ON daily_resource_share (claude_name, date)",
  // Idempotency: an event id is unique per agent; reports without one (NULL) are all kept.
  "CREATE UNIQUE INDEX IF NOT EXISTS increments_event ON resource_share_increments (claude_name, event_id)",
  "CREATE INDEX IF NOT EXISTS increments_time ON resource_share_increments (timestamp_ms)",
  "CREATE INDEX IF NOT EXISTS increments_agent_time ON resource_share_increments (claude_name, timestamp_ms)",
];

/**
 * Migration 4's idempotency index: only rows that carry an event id. An
 * upsert names it as `ON CONFLICT (claude_name, event_id) WHERE event_id IS
 * NOT NULL`, a read by event id says `event_id IS NOT NULL` to use it.
 */
export const INCREMENTS_EVENT_INDEX =
  "CREATE UNIQUE INDEX increments_event ON resource_share_increments (claude_name, event_id) WHERE event_id IS NOT NULL";

/**
 * Migration 2: the daily job's bookkeeping. `closed_days` has one row per
 * closed local day: when, in which zone, and the highest increment id that
 * existed when its sums were taken (any report for that day with a higher
 * id arrived later and calls for closing it again). `aggregation_state`
 * remembers up to which increment id the catch-up has looked for such late
 * reports, so each run reads only what arrived since the last one.
 */
export const CLOSED_DAYS_SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS closed_days (
  date TEXT PRIMARY KEY,
  time_zone TEXT NOT NULL,
  closed_at TEXT NOT NULL,
  max_increment_id INTEGER NOT NULL,
  agents INTEGER NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS aggregation_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  checked_through_id INTEGER NOT NULL
)`,
  "INSERT OR IGNORE INTO aggregation_state (id, checked_through_id) VALUES (1, 0)",
];

/**
 * Migration 5: what the fair-share advice reads. `quota_observations` holds
 * every reading of a quota window (from a report's rate_limits, a scraper,
 * ...); times are ISO-8601 UTC text like the other tables.
 */
export const QUOTA_SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS quota_observations (
  id INTEGER PRIMARY KEY,
  observed_at TEXT NOT NULL,
  window TEXT NOT NULL,
  used_percentage REAL NOT NULL,
  resets_at TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at TEXT NOT NULL
)`,
  "CREATE INDEX IF NOT EXISTS quota_observations_window_time ON quota_observations (window, observed_at)",
];

/** Migration 5's columns: an agent's settings, and the interval the service advised in its reply to each report. */
export const FAIR_SHARE_COLUMNS: Record<string, [string, string][]> = {
  claude_identities: [
    ["weight", "REAL NOT NULL DEFAULT 1"],
    ["paused_until", "TEXT"],
    ["note", "TEXT"],
  ],
  resource_share_increments: [["recommended_interval", "INTEGER"]],
};

/**
 * Migration 6: what the reporter (runner/reporter/) knows of each assistant
 * message, in columns of their own, nullable because the agents' timers
 * send none of it. `cache_read_increment` keeps the seed's meaning (tokens
 * read from the cache), and is what the daily sums add up; these columns
 * are the full picture, for queries that want it.
 */
export const TOKEN_CLASS_COLUMNS: [string, string][] = [
  ["input_tokens", "INTEGER"],
  ["output_tokens", "INTEGER"],
  ["cache_creation_tokens", "INTEGER"],
  ["cache_read_tokens", "INTEGER"],
  ["model", "TEXT"],
];

/**
 * Migration 7: the alerts. `alerts` has one row per episode of a rule firing
 * for a subject (an agent, a window, "service"): firing until resolved, then
 * kept as history. At most one firing row per rule and subject. `level`
 * orders escalations within an episode (a window's threshold), `period` ties
 * it to a window's period. `alert_outbox` holds each notification for each
 * receiver, written in the same transaction as the change it tells of, and
 * marked once delivered (or refused by the receiver): a restart neither
 * loses one nor sends one twice. `alert_marks` remembers, per agent, the
 * largest report older than an hour, and `alert_state` up to which instant
 * (timestamp_ms) reports were looked at for it.
 */
export const ALERTS_SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
  since TEXT NOT NULL,
  resolved_at TEXT,
  summary TEXT NOT NULL,
  details TEXT NOT NULL,
  level REAL NOT NULL DEFAULT 0,
  period TEXT NOT NULL DEFAULT '',
  last_notified TEXT
)`,
  "CREATE UNIQUE INDEX IF NOT EXISTS alerts_firing ON alerts (rule, subject) WHERE state = 'firing'",
  "CREATE INDEX IF NOT EXISTS alerts_since ON alerts (since)",
  `CREATE TABLE IF NOT EXISTS alert_outbox (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER NOT NULL REFERENCES alerts (id),
  event TEXT NOT NULL CHECK (event IN ('firing', 'reminder', 'resolved')),
  receiver TEXT NOT NULL,
  created_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  delivered_at TEXT,
  refused_at TEXT,
  last_error TEXT
)`,
  "CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (next_attempt_at) WHERE delivered_at IS NULL AND refused_at IS NULL",
  `CREATE TABLE IF NOT EXISTS alert_marks (
  claude_name TEXT PRIMARY KEY,
  largest_report INTEGER NOT NULL,
  reports INTEGER NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS alert_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  marked_through_ms INTEGER NOT NULL
)`,
  "INSERT OR IGNORE INTO alert_state (id, marked_through_ms) VALUES (1, 0)",
];

/**
 * Migration 8: Claude Code's own telemetry (OTLP metrics), a second source
 * kept apart from the reports so that nothing is counted twice.
 * `telemetry_points` holds one row per data point that added something: its
 * `value` is always a delta (a cumulative series' points are turned into
 * the difference from the series' previous point). `time` is the point's
 * time as UTC ISO-8601, `date` that time's local day in the zone set when it was stored (the
 * nightly comparison recomputes days from `time_ms`, so a change of zone
 * does not skew it). A point is identified by its series and its time
 * (`time_unix_nano`, decimal text: nanoseconds overflow a double), so a
 * retried export adds nothing. `telemetry_series` keeps each cumulative
 * series' last point, to take the next difference from. The nightly job
 * writes `telemetry_comparisons`: per agent and closed day, both sources'
 * figures, their difference, and whether it is beyond the margin.
 */
export const TELEMETRY_SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS telemetry_points (
  id INTEGER PRIMARY KEY,
  claude_name TEXT NOT NULL,
  time TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  date TEXT NOT NULL,
  metric TEXT NOT NULL,
  type TEXT,
  model TEXT,
  value REAL NOT NULL CHECK (value >= 0),
  series_key TEXT NOT NULL,
  time_unix_nano TEXT NOT NULL,
  received_at TEXT NOT NULL,
  UNIQUE (series_key, time_unix_nano)
)`,
  // Covering: the nightly comparison sums an agent's day from the index alone.
  "CREATE INDEX IF NOT EXISTS telemetry_points_agent_time ON telemetry_points (claude_name, time_ms, metric, type, value)",
  `CREATE TABLE IF NOT EXISTS telemetry_series (
  series_key TEXT PRIMARY KEY,
  claude_name TEXT NOT NULL,
  metric TEXT NOT NULL,
  start_time_unix_nano TEXT,
  last_time_unix_nano TEXT NOT NULL,
  last_value REAL NOT NULL,
  updated_at TEXT NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS telemetry_comparisons (
  claude_name TEXT NOT NULL,
  date TEXT NOT NULL,
  report_tokens INTEGER,
  telemetry_tokens INTEGER,
  tokens_diff_percent REAL,
  report_cost REAL,
  telemetry_cost REAL,
  cost_diff_percent REAL,
  margin_percent REAL NOT NULL,
  disagrees INTEGER NOT NULL,
  compared_at TEXT NOT NULL,
  PRIMARY KEY (claude_name, date)
)`,
];

/**
 * Migration 9: the hourly rollup the live reads sum instead of the reports
 * (functions/rollup.ts writes it, functions/usage.ts reads it). One row per
 * UTC hour, agent and mode: the sums of the reports whose timestamp falls in
 * that hour, kept up with them within a second by the webhook
 * (runner/webhook/roll-up-behind.ts); reads add the reports past the
 * watermark, so they are exact meanwhile. `hour`
 * is `hour_ms` as text, for the shell. `cost` is rounded as a double is;
 * `cost_residual` is what that rounding left out (cost + cost_residual is
 * the exact sum), so that a day summed from its hours gives the same last
 * bit as the day summed from its reports. `max_id` is the highest report id
 * in the row.
 *
 * usage_hourly_state: every report with id <= rolled_through_id is in the
 * table, except while a build is under way: then those in
 * (built_through_id, build_until_id] are not yet (a build fills them in
 * chunks, each one committed with its watermark, so a stopped build resumes).
 */
export const ROLLUP_SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS usage_hourly (
  hour_ms INTEGER NOT NULL,
  claude_name TEXT NOT NULL,
  mode TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  cost REAL NOT NULL,
  reports INTEGER NOT NULL,
  cost_residual REAL NOT NULL DEFAULT 0,
  max_id INTEGER NOT NULL DEFAULT 0,
  hour TEXT GENERATED ALWAYS AS (strftime('%Y-%m-%dT%H:00Z', hour_ms / 1000, 'unixepoch')) VIRTUAL,
  PRIMARY KEY (hour_ms, claude_name, mode)
) WITHOUT ROWID`,
  // The hours that reports since a given id went into: how queryDaily finds late reports without walking today's.
  "CREATE INDEX IF NOT EXISTS usage_hourly_max_id ON usage_hourly (max_id)",
  `CREATE TABLE IF NOT EXISTS usage_hourly_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  rolled_through_id INTEGER NOT NULL,
  built_through_id INTEGER NOT NULL,
  build_until_id INTEGER NOT NULL
)`,
];
