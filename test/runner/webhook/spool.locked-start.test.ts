import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../../shared/migrations.ts";
import { openTestDatabase, holdWriteLock, sqlite3, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { postJson, startRunner, waitForOutput } from "../../support/server.ts";

/** A database of the original Python system: its tables only, no schema_migrations, rollback journal (not WAL). */
function originalSystemDatabase(path: string): void {
  sqlite3(
    path,
    `CREATE TABLE claude_identities (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL,
       first_seen DATETIME DEFAULT CURRENT_TIMESTAMP, last_seen DATETIME DEFAULT CURRENT_TIMESTAMP, active BOOLEAN DEFAULT 1);
     CREATE TABLE resource_share_increments (id INTEGER PRIMARY KEY AUTOINCREMENT, claude_name TEXT NOT NULL,
       timestamp DATETIME DEFAULT CURRENT_TIMESTAMP, mode TEXT NOT NULL, cache_read_increment INTEGER NOT NULL, context_percentage REAL);
     CREATE TABLE daily_resource_share (id INTEGER PRIMARY KEY AUTOINCREMENT, claude_name TEXT NOT NULL, date DATE NOT NULL,
       autonomous_tokens INTEGER DEFAULT 0, collaborative_tokens INTEGER DEFAULT 0, total_tokens INTEGER DEFAULT 0,
       last_updated DATETIME DEFAULT CURRENT_TIMESTAMP, UNIQUE(claude_name, date));
     INSERT INTO claude_identities (name, first_seen, last_seen) VALUES ('Sparkle-Orange', '2025-12-16 10:00:00', '2026-01-02 03:04:05');
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Sparkle-Orange', '2026-01-02 03:04:05', 'autonomy', 1000);`,
  );
}

/** A database of this service one migration behind (WAL, version 3): the next start has a migration to run. */
async function oneMigrationBehind(path: string): Promise<void> {
  const db = await openTestDatabase(path);
  db.close();
  sqlite3(
    path,
    `DELETE FROM schema_migrations WHERE version = ${SCHEMA_VERSION};
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Sparkle-Orange', '2026-01-02T03:04:05.000Z', 'autonomy', 1000);`,
  );
}

const health = async (base: string) => (await fetch(`${base}/health`)).json() as Promise<{ status: string; spool: { mode: string; backlog: number } }>;

describe.each([
  ["a database of the original system", originalSystemDatabase],
  ["a database one migration behind", oneMigrationBehind],
])("npm start on %s that sqlite3 holds locked", (_, make) => {
  it("starts, answers every report 200 from the spool, and stores each once after migrating when the lock clears", async () => {
    const path = tempDatabasePath();
    await make(path);
    const lock = await holdWriteLock(path);
    const server = await startRunner("start", { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC" });
    expect(server.output()).toMatch(/is locked by another process.*Starting anyway/);

    const answers = [
      await postJson(`${server.url}/resource-share/increment`, { claude_name: "Locked-Start", cache_read_increment: 11, mode: "autonomy" }),
      await postJson(`${server.url}/resource-share/increment`, { claude_name: "Locked-Start", cache_read_increment: 12, mode: "autonomy", event_id: "e-12" }),
      // The client's retry of the same report: stored once.
      await postJson(`${server.url}/resource-share/increment`, { claude_name: "Locked-Start", cache_read_increment: 12, mode: "autonomy", event_id: "e-12" }),
      await postJson(`${server.url}/resource-share/increments`, [
        { claude_name: "Locked-Start", cache_read_increment: 13, mode: "collaboration" },
        { claude_name: "Other-Agent", cache_read_increment: 14, mode: "autonomy" },
      ]),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.slice(0, 3).map((a) => a.json.queued)).toEqual([true, true, true]);
    expect(answers[3]!.json.results.map((r: { queued?: boolean }) => r.queued)).toEqual([true, true]);
    expect((await health(server.url)).spool).toMatchObject({ mode: "spooling", backlog: 5 });
    // Nothing touched the tables while locked: the schema is not brought up to date behind the lock.
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 1 }]);

    await lock.release();
    await waitForOutput(server, /spool applied: 5 reports written/, 30_000);
    await waitForOutput(server, /viewer listening on (http:\/\/[\d.:]+)/, 30_000);
    expect(await health(server.url)).toMatchObject({ status: "ok", spool: { mode: "direct", backlog: 0 } });
    expect(sqlite3Rows(path, "SELECT max(version) AS v FROM schema_migrations")).toEqual([{ v: SCHEMA_VERSION }]);
    expect(sqlite3Rows(path, "SELECT claude_name, cache_read_increment AS tokens FROM resource_share_increments ORDER BY id")).toEqual([
      { claude_name: "Sparkle-Orange", tokens: 1000 },
      { claude_name: "Locked-Start", tokens: 11 },
      { claude_name: "Locked-Start", tokens: 12 },
      { claude_name: "Locked-Start", tokens: 13 },
      { claude_name: "Other-Agent", tokens: 14 },
    ]);

    // Written directly again, and the viewer (started after the lock) shows the rows.
    const after = await postJson(`${server.url}/resource-share/increment`, { claude_name: "Locked-Start", cache_read_increment: 15, mode: "autonomy" });
    expect([after.status, typeof after.json.id, after.json.queued]).toEqual([200, "number", undefined]);
    const viewer = /viewer listening on (http:\/\/[\d.:]+)/.exec(server.output())![1]!;
    expect(await (await fetch(`${viewer}/tables/resource_share_increments`)).text()).toContain("Other-Agent");
    expect(await server.stop()).toBe(0);
  }, 90_000);
});
