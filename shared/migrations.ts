import type { Transaction } from "./libsql.ts";
import type { Db } from "./context.ts";
import { startRollup } from "./rollup.ts";
import { ALERTS_SCHEMA, CLOSED_DAYS_SCHEMA, FAIR_SHARE_COLUMNS, INCREMENTS_EVENT_INDEX, INDEXES, QUOTA_SCHEMA, TABLES, TELEMETRY_SCHEMA, TOKEN_CLASS_COLUMNS, type TableSpec } from "./schema.ts";

/**
 * Versioned schema changes, applied in order at start by every process
 * (idempotent: a process that finds them applied does nothing). Never edit
 * an applied migration; add a new one.
 */
export interface Migration {
  version: number;
  name: string;
  up(tx: Transaction): Promise<void>;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "create the tables, or adopt those of the original system",
    async up(tx) {
      for (const table of TABLES) await createOrAdopt(tx, table);
      for (const sql of INDEXES) await tx.execute(sql);
    },
  },
  {
    version: 2,
    name: "record which days are closed, so the daily catch-up finds late reports",
    async up(tx) {
      for (const sql of CLOSED_DAYS_SCHEMA) await tx.execute(sql);
    },
  },
  {
    version: 3,
    name: "agents get a token (its SHA-256 hash)",
    async up(tx) {
      const columns = await tx.execute("PRAGMA table_xinfo(claude_identities)");
      if (!columns.rows.some((r) => r.name === "token_hash")) await tx.execute("ALTER TABLE claude_identities ADD COLUMN token_hash TEXT");
      await tx.execute("CREATE UNIQUE INDEX IF NOT EXISTS claude_identities_token ON claude_identities (token_hash)");
    },
  },
  {
    version: 4,
    name: "reports without an event id stay out of the idempotency index",
    async up(tx) {
      // The agents' timers send no event id. Indexed anyway, each of their
      // rows dirtied a page of this index at a place of its own (by agent),
      // one more page for every commit to write: a third of an insert's cost.
      // A partial index holds only the rows idempotency is about; NULLs never
      // conflicted, so no answer changes.
      await tx.execute("DROP INDEX IF EXISTS increments_event");
      await tx.execute(INCREMENTS_EVENT_INDEX);
    },
  },
  {
    version: 5,
    name: "quota observations; agents get a weight, a pause and a note; each report keeps the interval it was advised",
    async up(tx) {
      for (const sql of QUOTA_SCHEMA) await tx.execute(sql);
      for (const [table, columns] of Object.entries(FAIR_SHARE_COLUMNS)) await addMissingColumns(tx, table, columns);
    },
  },
  {
    version: 6,
    name: "reports carry their token classes and model (input, output, cache creation, cache read)",
    async up(tx) {
      await addMissingColumns(tx, "resource_share_increments", TOKEN_CLASS_COLUMNS);
    },
  },
  {
    version: 7,
    name: "alerts: their episodes, the outbox of their notifications, each agent's largest report",
    async up(tx) {
      for (const sql of ALERTS_SCHEMA) await tx.execute(sql);
    },
  },
  {
    version: 8,
    name: "Claude Code's telemetry (OTLP metrics) in tables of its own, and the nightly comparison with the reports",
    async up(tx) {
      for (const sql of TELEMETRY_SCHEMA) await tx.execute(sql);
    },
  },
  {
    version: 9,
    name: "an hourly rollup of the reports per agent and mode (usage_hourly), for the live reads",
    async up(tx) {
      // The reports already stored are rolled up on start, in chunks (buildRollup): a year of them is minutes of work.
      await startRollup(tx);
    },
  },
];

export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** Adds the columns a table lacks; one the original system or a person already added is left as it is. */
async function addMissingColumns(tx: Transaction, table: string, columns: [string, string][]): Promise<void> {
  const have = new Set((await tx.execute(`PRAGMA table_xinfo(${table})`)).rows.map((r) => String(r.name)));
  for (const [name, def] of columns) if (!have.has(name)) await tx.execute(`ALTER TABLE ${table} ADD COLUMN ${name} ${def}`);
}

/**
 * A table made by the original Python system has the seed's columns only:
 * add the missing ones in place, keeping every row.
 */
async function createOrAdopt(tx: Transaction, table: TableSpec): Promise<void> {
  const existing = await tx.execute(`PRAGMA table_xinfo(${table.name})`);
  if (existing.rows.length === 0) {
    const parts = [...table.columns.map(([n, def]) => `${n} ${def}`), ...(table.constraints ?? [])];
    await tx.execute(`CREATE TABLE ${table.name} (\n  ${parts.join(",\n  ")}\n)`);
    return;
  }
  const have = new Set(existing.rows.map((r) => String(r.name)));
  for (const [name, def] of table.columns) {
    if (have.has(name)) continue;
    // ALTER TABLE cannot add a key, a UNIQUE column, or NOT NULL without a default.
    const addable = def
      .replace(/PRIMARY KEY( AUTOINCREMENT)?|UNIQUE/g, "")
      .replace(/NOT NULL(?!.*DEFAULT)/, "")
      .trim();
    await tx.execute(`ALTER TABLE ${table.name} ADD COLUMN ${name} ${addable}`);
  }
}

export interface MigrationReport {
  from: number;
  to: number;
  applied: string[];
}

/** Brings the schema up to SCHEMA_VERSION; each migration in its own transaction. */
export async function migrate(db: Db): Promise<MigrationReport> {
  await db.execute(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  const from = await schemaVersion(db);
  // By the versions recorded, not the highest one: branches built at the
  // same time number their migrations in parallel (5 and 6), and a database
  // that got 6 first must still get 5.
  const done = await db.execute("SELECT version FROM schema_migrations");
  const recorded = new Set(done.rows.map((r) => Number(r.version)));
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    if (recorded.has(m.version)) continue;
    const tx = await db.transaction("write");
    try {
      // Another process may have applied it while we waited for the lock.
      const done = await tx.execute({ sql: "SELECT 1 FROM schema_migrations WHERE version = ?", args: [m.version] });
      if (done.rows.length === 0) {
        await m.up(tx);
        await tx.execute({
          sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
          args: [m.version, m.name, new Date().toISOString()],
        });
        applied.push(`${m.version}: ${m.name}`);
      }
      await tx.commit();
    } catch (err) {
      throw new Error(
        `Migration ${m.version} (${m.name}) failed and was rolled back; the database is unchanged: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      tx.close();
    }
  }
  return { from, to: await schemaVersion(db), applied };
}

export async function schemaVersion(db: Db): Promise<number> {
  const rs = await db.execute("SELECT coalesce(max(version), 0) AS v FROM schema_migrations");
  return Number(rs.rows[0]?.v ?? 0);
}
