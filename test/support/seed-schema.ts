/**
 * The original Python system's first version, as the seed describes its
 * tables (resource-share-system.md), for tests that build such a database
 * with the sqlite3 CLI. `totalTokens` is how its daily table defines
 * total_tokens: an ordinary column, or one SQLite computes itself.
 */
export function firstVersionTables(totalTokens: "column" | "VIRTUAL" | "STORED" = "column"): string {
  const total = totalTokens === "column" ? "INTEGER DEFAULT 0" : `INTEGER GENERATED ALWAYS AS (autonomous_tokens + collaborative_tokens) ${totalTokens}`;
  return `
CREATE TABLE claude_identities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE NOT NULL,
  first_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
  last_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
  active BOOLEAN DEFAULT 1
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
CREATE TABLE daily_resource_share (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  claude_name TEXT NOT NULL,
  date DATE NOT NULL,
  autonomous_tokens INTEGER DEFAULT 0,
  collaborative_tokens INTEGER DEFAULT 0,
  total_tokens ${total},
  last_updated DATETIME DEFAULT CURRENT_TIMESTAMP,
  UNIQUE(claude_name, date)
);
CREATE TABLE fair_allocations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  claude_name TEXT NOT NULL,
  date DATE NOT NULL,
  fair_share_tokens INTEGER,
  used_tokens INTEGER
);
`;
}
