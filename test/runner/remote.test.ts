import { describe, expect, it } from "vitest";
import type { InStatement } from "@libsql/client";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { migrate, SCHEMA_VERSION } from "../../shared/migrations.ts";
import { groupCalls } from "../../runner/webhook/group-commit.ts";
import { tempDir } from "../support/database.ts";
import { webhookApp } from "../support/apps.ts";
import { runInvoke } from "../support/server.ts";
import { isLoopback, listeningSockets } from "../support/sockets.ts";
import { startSqld } from "../support/sqld.ts";

const report = (name: string, tokens: number) => ({ claude_name: name, cache_read_increment: tokens, mode: "autonomy" });

/** Opens a separate client on the server to see what the service stored. */
async function serverRows(url: string, authToken: string | undefined, sql: string) {
  const reader = await openDatabase({ url, authToken });
  try {
    return (await reader.client.execute(sql)).rows.map((r) => ({ ...r }));
  } finally {
    reader.close();
  }
}

describe("a libSQL server as the database", () => {
  it("the server the tests start accepts connections on loopback only", async () => {
    const server = await startSqld({ auth: true });
    const sockets = listeningSockets(server.pid);
    expect(sockets).toContainEqual({ protocol: "tcp", address: "127.0.0.1", port: server.port });
    expect(sockets.filter((s) => !isLoopback(s.address))).toEqual([]);
  });

  it("the webhook stores reports over ws:// and libsql:// with DATABASE_AUTH_TOKEN", async () => {
    const server = await startSqld({ auth: true });
    const token = server.tokens!.full;
    const host = `127.0.0.1:${server.port}`;
    const webhook = await webhookApp({ DATABASE_URL: `ws://${host}`, DATABASE_AUTH_TOKEN: token });
    const one = await webhook.post("/resource-share/increment", { ...report("Sparkle-Orange", 1234), event_id: "e-1" });
    expect(one.status).toBe(200);
    const again = await webhook.post("/resource-share/increment", { ...report("Sparkle-Orange", 1234), event_id: "e-1" });
    expect(again.body).toMatchObject({ status: "success", id: one.body.id, duplicate: true });
    const batch = await webhook.post("/resource-share/increments", [report("Quiet-Blue", 10), report("Quiet-Blue", 20)]);
    expect(batch.status).toBe(200);
    await webhook.close();

    // libsql:// means TLS by default; ?tls=0 is how a loopback server without TLS is reached.
    const summary = await runInvoke("summary", undefined, { DATABASE_URL: `libsql://${host}?tls=0`, DATABASE_AUTH_TOKEN: token });
    expect(summary.code, summary.stderr).toBe(0);
    expect(summary.stdout).toContain("Sparkle-Orange");
    expect(await serverRows(server.url, token, "SELECT claude_name, sum(cache_read_increment) AS tokens FROM resource_share_increments GROUP BY 1 ORDER BY 1")).toEqual([
      { claude_name: "Quiet-Blue", tokens: 30 },
      { claude_name: "Sparkle-Orange", tokens: 1234 },
    ]);
  });

  it("a wrong or missing token stops the process with a line naming DATABASE_AUTH_TOKEN", async () => {
    const server = await startSqld({ auth: true });
    for (const env of [{ DATABASE_URL: server.url, DATABASE_AUTH_TOKEN: "not-a-token" }, { DATABASE_URL: server.url, DATABASE_AUTH_TOKEN: "" }]) {
      const r = await runInvoke("health", undefined, env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("The libSQL server in DATABASE_URL refused the credentials");
      expect(r.stderr).toContain("Check DATABASE_AUTH_TOKEN");
      expect(r.stderr).not.toContain("not-a-token");
    }
  });

  it.each(["http", "ws"])("when the server stops answering, the webhook answers 200 from the spool and stores the report once it is back (%s://)", async (scheme) => {
    const server = await startSqld();
    const spoolDir = tempDir();
    const webhook = await webhookApp({ DATABASE_URL: server.url.replace("http", scheme), SPOOL_DIR: spoolDir });
    expect((await webhook.post("/resource-share/increment", report("Sparkle-Orange", 1))).status).toBe(200);
    process.kill(server.pid, "SIGSTOP"); // the server stops answering; its port stays open
    try {
      const away = await webhook.request("/resource-share/increment", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(report("Sparkle-Orange", 2)),
        signal: AbortSignal.timeout(5_000), // the agents' clients give up after 5 s
      });
      expect(away.status).toBe(200);
      // Normally the spool took it ("queued"); on a loaded machine sqld has been seen to answer
      // once more after SIGSTOP. Either way the promise is the same: 200, then stored exactly once.
      expect(await away.json()).toMatchObject({ status: "success", tokens_recorded: 2 });
    } finally {
      process.kill(server.pid, "SIGCONT");
    }
    await expect.poll(async () => ((await (await webhook.request("/health")).json()) as { spool: { backlog: number } }).spool.backlog, { timeout: 20_000 }).toBe(0);
    const back = await webhook.post("/resource-share/increment", report("Sparkle-Orange", 3));
    expect(back.status).toBe(200);
    expect(await serverRows(server.url, undefined, "SELECT cache_read_increment AS t FROM resource_share_increments ORDER BY t")).toEqual([{ t: 1 }, { t: 2 }, { t: 3 }]);
    await webhook.close();
  });

  it("migrations adopt a database of the original system on the server, keeping every row", async () => {
    const server = await startSqld();
    const seed = await openDatabase({ url: server.url });
    try {
      await seed.client.batch([
        "CREATE TABLE resource_share_increments (id INTEGER PRIMARY KEY AUTOINCREMENT, claude_name TEXT, timestamp TEXT, mode TEXT, cache_read_increment INTEGER, context_percentage REAL)",
        "CREATE TABLE daily_resource_share (id INTEGER PRIMARY KEY AUTOINCREMENT, claude_name TEXT, date TEXT, autonomous_tokens INTEGER, collaborative_tokens INTEGER, total_tokens INTEGER, last_updated TEXT)",
        "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, context_percentage) VALUES ('Old-Timer', '2026-01-02 03:04:05', 'autonomy', 500, 12.5)",
        "INSERT INTO daily_resource_share (claude_name, date, autonomous_tokens, collaborative_tokens, total_tokens, last_updated) VALUES ('Old-Timer', '2026-01-02', 500, 0, 500, '2026-01-03 00:00:00')",
      ]);
    } finally {
      seed.close();
    }
    const health = await runInvoke("health", undefined, { DATABASE_URL: server.url });
    expect(health.code, health.stderr).toBe(0);
    const rows = await serverRows(server.url, undefined, "SELECT claude_name, cache_read_increment, context_percentage, cost_delta, timestamp_ms FROM resource_share_increments");
    expect(rows).toEqual([{ claude_name: "Old-Timer", cache_read_increment: 500, context_percentage: 12.5, cost_delta: null, timestamp_ms: Date.UTC(2026, 0, 2, 3, 4, 5) }]);
    expect(await serverRows(server.url, undefined, "SELECT total_tokens, report_count FROM daily_resource_share")).toEqual([{ total_tokens: 500, report_count: 0 }]);
    expect(await serverRows(server.url, undefined, "SELECT max(version) AS v FROM schema_migrations")).toEqual([{ v: SCHEMA_VERSION }]);
  });

  it("group commit on a server: one caller's failing batch fails alone and leaves nothing behind", async () => {
    const server = await startSqld();
    const database = await openDatabase({ url: server.url });
    try {
      await migrate(database.client);
      // The grouping the webhook's store uses, here over raw write batches.
      const write = groupCalls((statements: InStatement[]) => database.db.batch(statements, "write"));
      const insert = (name: string, mode: string) => ({
        sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES (?, '2026-11-28T10:00:00Z', ?, 1)",
        args: [name, mode],
      });
      // Sent in the same tick: committed as one group until the CHECK on mode breaks it.
      const results = await Promise.allSettled([
        write([insert("Good-1", "autonomy")]),
        write([insert("Bad", "autonomy"), insert("Bad", "sideways")]),
        write([insert("Good-2", "collaboration")]),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(await serverRows(server.url, undefined, "SELECT claude_name FROM resource_share_increments ORDER BY id")).toEqual([
        { claude_name: "Good-1" },
        { claude_name: "Good-2" },
      ]);
    } finally {
      database.close();
    }
  });
});
