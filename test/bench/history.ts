import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { migrate } from "../../shared/migrations.ts";
import { addDays, dayStarts } from "../../shared/time.ts";
import { ROOT } from "../support/process.ts";
import { family, type Agent } from "./family.ts";

export interface History {
  path: string;
  /** Local days covered, first and last (the last is yesterday, when made). */
  from: string;
  to: string;
  rows: number;
  agents: Agent[];
  /** Seconds spent making it; 0 when it came from the cache. */
  generatedSeconds: number;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * A uniform number in [0, 1) from integers, in SQL: the same seed and
 * inputs always give the same value, so the data are reproducible without
 * shipping them. (Two multiplicative hashing rounds; products stay below
 * 2^63, where SQLite integers would turn into floats.)
 */
function uniform(seed: number, expr: string, salt: number): string {
  return `((((((${expr}) * 4 + ${salt}) * 2654435761) % 4294967296) * 1274126177 + ${seed % 1_000_000}) % 2147483647) / 2147483647.0`;
}

/**
 * A year (or, quick, a week) of the family's reports, as the service would
 * have stored them: one per agent every 30 s, mode by who is at the keyboard
 * (working hours more than nights, in 10-minute sessions), bursts and idle
 * slots, cost for the clients that send it. Written by the sqlite3 CLI in
 * one statement (generate_series), with the table's indexes and triggers
 * set aside during the load and rebuilt after, as a restore would.
 *
 * Kept under bench-results/, keyed by seed, size and period length: a full
 * run reuses it instead of writing 21 million rows again.
 */
export async function makeHistory(dir: string, seed: number, agentCount: number, days: number, timeZone: string, log: (line: string) => void): Promise<History> {
  const agents = family(seed, agentCount);
  const name = `history-seed${seed}-${agentCount}agents-${days}days-${timeZone.replace(/\W/g, "_")}`;
  const path = join(dir, `${name}.db`);
  const meta = join(dir, `${name}.json`);
  if (existsSync(path) && existsSync(meta)) {
    const saved = JSON.parse(readFileSync(meta, "utf8")) as Omit<History, "agents" | "generatedSeconds" | "path">;
    // Bring a cached file up to the current schema (a migration added since it was made).
    const db = await openDatabase({ url: `file:${path}` });
    await migrate(db.client);
    db.close();
    return { ...saved, path, agents, generatedSeconds: 0 };
  }
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const building = `${path}.building`;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${building}${suffix}`, { force: true });

  // The schema exactly as the service makes it, by the runner in its own
  // process: the load below needs the file to itself.
  execFileSync(process.execPath, ["--import", "tsx", "runner/index.ts", "invoke", "health"], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: `file:${building}` },
    stdio: "ignore",
  });

  const today = new Date().toLocaleDateString("en-CA", { timeZone });
  const to = addDays(today, -1);
  const from = addDays(to, -(days - 1));
  const [startMs, endMs] = dayStarts([from, addDays(to, 1)], timeZone) as [number, number];
  const slots = Math.floor((endMs - startMs) / 30_000);
  log(`  generating ${days} days of ${agentCount} agents (${(slots * agentCount).toLocaleString("en")} reports) with sqlite3 into ${path}`);

  const setAside = JSON.parse(
    execFileSync("sqlite3", ["-json", building, "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'resource_share_increments' AND type IN ('index', 'trigger') AND sql IS NOT NULL"], { encoding: "utf8" }) || "[]",
  ) as { type: string; name: string; sql: string }[];

  const agentRows = agents
    .map((a, i) => `(${i}, ${sqlString(a.name)}, ${sqlString(a.host)}, ${sqlString(a.client)}, ${a.baseTokens}, ${a.busy}, ${a.attachedByDay})`)
    .join(",\n  ");
  const at = "(s.slot * 64 + a.idx)";
  const script = `
.bail on
.timeout 10000
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -400000;
${setAside.map((o) => `DROP ${o.type.toUpperCase()} ${o.name};`).join("\n")}
BEGIN;
CREATE TEMP TABLE agents (idx INTEGER PRIMARY KEY, name TEXT, host TEXT, client TEXT, base REAL, busy REAL, attached REAL);
INSERT INTO agents VALUES
  ${agentRows};
INSERT INTO resource_share_increments
  (claude_name, timestamp, mode, cache_read_increment, context_percentage, cost_delta, event_id, received_at, host)
SELECT name, ts, mode, tokens,
    CASE client WHEN 'context' THEN (slot % 200) / 2.0 END,
    CASE client WHEN 'cost' THEN round(tokens * 3e-7 + CASE WHEN tokens > 0 THEN u_cost * 0.004 ELSE 0 END, 6) END,
    NULL, ts,
    CASE client WHEN 'cost' THEN host END
  FROM (
    SELECT slot, name, host, client, strftime('%Y-%m-%dT%H:%M:%fZ', ms / 1000.0, 'unixepoch') AS ts, u_cost,
        CASE WHEN u_session < CASE WHEN hour BETWEEN 9 AND 17 THEN attached WHEN hour BETWEEN 18 AND 22 THEN attached / 3 ELSE 0.02 END
          THEN 'collaboration' ELSE 'autonomy' END AS mode,
        CASE WHEN u_busy < busy THEN CAST(base * exp((u_size - 0.5) * 1.6) AS INTEGER) ELSE 0 END AS tokens
      FROM (
        SELECT slot, name, host, client, base, busy, attached, ms, (ms / 3600000 + 1) % 24 AS hour,
            ${uniform(seed, "(ms / 600000) * 64 + idx", 0)} AS u_session,
            ${uniform(seed, "slot * 64 + idx", 1)} AS u_busy,
            ${uniform(seed, "slot * 64 + idx", 2)} AS u_size,
            ${uniform(seed, "slot * 64 + idx", 3)} AS u_cost
          FROM (
            SELECT s.slot, a.*, s.base_ms + CAST(${uniform(seed, at, 4)} * 29000 AS INTEGER) AS ms
              -- CROSS JOIN keeps slot-major order: reports are stored in the order they arrive.
              FROM (SELECT value AS slot, ${startMs} + value * 30000 AS base_ms FROM generate_series(0, ${slots - 1})) AS s
              CROSS JOIN agents AS a
          )
      )
  );
INSERT INTO claude_identities (name, first_seen, last_seen, active)
  SELECT name, strftime('%Y-%m-%dT%H:%M:%fZ', ${startMs} / 1000.0, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', ${endMs} / 1000.0, 'unixepoch'), 1 FROM agents
  WHERE true ON CONFLICT (name) DO NOTHING;
COMMIT;
${setAside.map((o) => `${o.sql};`).join("\n")}
PRAGMA journal_mode = WAL;
`;
  execFileSync("sqlite3", [building], { input: script, encoding: "utf8", maxBuffer: 1 << 20 });
  const rows = Number(execFileSync("sqlite3", [building, "SELECT count(*) FROM resource_share_increments"], { encoding: "utf8" }).trim());
  renameSync(building, path);
  const made: Omit<History, "agents" | "generatedSeconds" | "path"> = { from, to, rows };
  writeFileSync(meta, `${JSON.stringify(made)}\n`);
  const generatedSeconds = (Date.now() - started) / 1000;
  log(`  generated ${rows.toLocaleString("en")} rows in ${generatedSeconds.toFixed(0)} s`);
  return { ...made, path, agents, generatedSeconds };
}
