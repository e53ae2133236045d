/**
 * The original Python system's tables, as the seed describes them
 * (resource-share-system.md) and as its later version grew them, for tests
 * that build such databases with the sqlite3 CLI.
 */

const IDENTITIES = `CREATE TABLE claude_identities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE NOT NULL,
  first_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
  last_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
  active BOOLEAN DEFAULT 1`;

const DAILY = `CREATE TABLE daily_resource_share (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  claude_name TEXT NOT NULL,
  date DATE NOT NULL,
  autonomous_tokens INTEGER DEFAULT 0,
  collaborative_tokens INTEGER DEFAULT 0,`;

const FAIR_ALLOCATIONS = `CREATE TABLE fair_allocations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  claude_name TEXT NOT NULL,
  date DATE NOT NULL,
  fair_share_tokens INTEGER,
  used_tokens INTEGER
);`;

/**
 * The first version. `totalTokens` is how its daily table defines
 * total_tokens: an ordinary column, or one SQLite computes itself.
 */
export function firstVersionTables(totalTokens: "column" | "VIRTUAL" | "STORED" = "column"): string {
  const total = totalTokens === "column" ? "INTEGER DEFAULT 0" : `INTEGER GENERATED ALWAYS AS (autonomous_tokens + collaborative_tokens) ${totalTokens}`;
  return `
${IDENTITIES}
);
CREATE TABLE resource_share_increments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  claude_name TEXT NOT NULL,
  timestamp DATETIME DEFAULT CURRENT_TIMESTAMP,
  mode TEXT NOT NULL,
  cache_read_increment INTEGER NOT NULL,
  context_percentage REAL,
  FOREIGN KEY (claude_name) REFERENCES claude_identities(name)
);
${DAILY}
  total_tokens ${total},
  last_updated DATETIME DEFAULT CURRENT_TIMESTAMP,
  UNIQUE(claude_name, date)
);
${FAIR_ALLOCATIONS}
`;
}

/**
 * The later version: agents' models and cost multipliers, each report's
 * cost and the interval recommended back, cost columns in the daily table,
 * and the subscription's quota readings (quota_info).
 */
export function laterVersionTables(): string {
  return `
${IDENTITIES},
  model TEXT,
  cost_multiplier REAL DEFAULT 3
);
CREATE TABLE resource_share_increments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  claude_name TEXT NOT NULL,
  timestamp DATETIME DEFAULT CURRENT_TIMESTAMP,
  mode TEXT NOT NULL,
  cache_read_increment INTEGER,
  context_percentage REAL,
  weighted_cost INTEGER,
  recommended_interval INTEGER,
  cost_delta REAL,
  normalized_usage REAL,
  FOREIGN KEY (claude_name) REFERENCES claude_identities(name)
);
${DAILY}
  total_tokens INTEGER DEFAULT 0,
  last_updated DATETIME DEFAULT CURRENT_TIMESTAMP,
  autonomous_cost REAL DEFAULT 0,
  collaborative_cost REAL DEFAULT 0,
  total_cost REAL DEFAULT 0,
  UNIQUE(claude_name, date)
);
${FAIR_ALLOCATIONS}
CREATE TABLE quota_info (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp DATETIME DEFAULT CURRENT_TIMESTAMP,
  session_5hour INTEGER,
  week_all INTEGER,
  week_sonnet INTEGER,
  session_5hour_reset TEXT,
  week_reset TEXT
);
`;
}
