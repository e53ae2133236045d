import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { openDatabase, type Database } from "../../../runner/platform/libsql-client.ts";
import { EXIT_REFUSED, exitCode, failureBody } from "../../../runner/platform/outcome.ts";
import { runHandler } from "../../../runner/platform/run-handler.ts";
import { webhookApp, type InProcessApp } from "../../support/apps.ts";
import { sharedTempDir, sqlite3Rows } from "../../support/database.ts";
import { invokeContext } from "../../support/context.ts";
import { runInvoke } from "../../support/server.ts";

/**
 * The fair-share routes as clients and scrapers see them: the webhook's
 * app in process (as `runner serve` builds it) over a fresh file, read back
 * with sqlite3; setAgent and advise through runHandler, the path `runner
 * invoke` takes, and the CLI itself once. Each test uses its own agent names.
 */

let webhook: InProcessApp;
/** A connection of its own, as `runner invoke` opens one beside the running webhook. */
let cli: Database;
let path: string;
let dir: ReturnType<typeof sharedTempDir>;
const env = () => ({ DATABASE_URL: `file:${path}` });

beforeAll(async () => {
  dir = sharedTempDir();
  path = join(dir.dir, "resource_tracking.db");
  webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
  cli = await openDatabase({ url: `file:${path}` });
});
afterAll(async () => {
  cli?.close();
  await webhook?.close();
  dir?.remove();
});

/** What `runner invoke` hands a handler, with the settings the spawned run gets. */
const invokeCtx = () => invokeContext(cli.db, env());

const post = async (route: string, body: unknown) => {
  const { status, body: json } = await webhook.post(route, body);
  return { status, json };
};
const get = async (route: string) => {
  const res = await webhook.request(route);
  return { status: res.status, json: (await res.json()) as any };
};
const count = (sql: string) => Number(sqlite3Rows<{ n: number }>(path, sql)[0]!.n);
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe("POST /resource-share/increment with rate_limits", () => {
  it("stores Claude Code's statusLine rate_limits as observations with the agent as source, beside the report", async () => {
    const resets = inAnHour();
    const a = await post("/resource-share/increment", {
      claude_name: "Limits-One",
      cache_read_increment: 10,
      mode: "autonomy",
      rate_limits: { five_hour: { used_percentage: 41, resets_at: resets }, seven_day: { used_percentage: 63, resets_at: "2026-12-31T18:00:00Z" } },
    });
    expect(a.status).toBe(200);
    expect(sqlite3Rows(path, "SELECT window, used_percentage, resets_at, source FROM quota_observations WHERE source = 'Limits-One' ORDER BY window")).toEqual([
      { window: "five_hour", used_percentage: 41, resets_at: new Date(resets * 1000).toISOString(), source: "Limits-One" },
      { window: "seven_day", used_percentage: 63, resets_at: "2026-12-31T18:00:00.000Z", source: "Limits-One" },
    ]);
    const quota = await get("/resource/quota");
    expect(quota.status).toBe(200);
    expect(quota.json.windows).toEqual(expect.arrayContaining([expect.objectContaining({ window: "five_hour", used_percentage: 41, source: "Limits-One" })]));
    const health = await get("/health");
    expect(health.json.quota).toEqual(quota.json.windows);
  });

  const bad: [string, unknown, string][] = [
    ["a percentage over 100", { five_hour: { used_percentage: 101, resets_at: 1764950400 } }, "rate_limits.five_hour.used_percentage"],
    ["a reset that is not a time", { seven_day: { used_percentage: 5, resets_at: "Thursday" } }, "rate_limits.seven_day.resets_at"],
    ["an unknown window", { monthly: { used_percentage: 5, resets_at: 1764950400 } }, "rate_limits.monthly"],
    ["a window that is not an object", { five_hour: 41 }, "rate_limits.five_hour"],
  ];
  it.each(bad)("answers 400 naming the field for %s, and stores neither the report nor an observation", async (_what, rateLimits, field) => {
    const reports = count("SELECT count(*) AS n FROM resource_share_increments");
    const observations = count("SELECT count(*) AS n FROM quota_observations");
    const a = await post("/resource-share/increment", { claude_name: "Limits-Bad", cache_read_increment: 10, mode: "autonomy", rate_limits: rateLimits });
    expect(a.status).toBe(400);
    expect(a.json.issues.map((i: { field: string }) => i.field)).toContain(field);
    expect(count("SELECT count(*) AS n FROM resource_share_increments")).toBe(reports);
    expect(count("SELECT count(*) AS n FROM quota_observations")).toBe(observations);
  });
});

describe("POST /resource-share/quota", () => {
  it("stores a scraper's readings and says which it ignored and why", async () => {
    const a = await post("/resource-share/quota", [
      { window: "seven_day_opus", used_percentage: 12, resets_at: "2026-12-31T18:00:00Z", source: "scraper" },
      { window: "seven_day_opus", used_percentage: 12, resets_at: "2026-01-01T00:00:00Z", source: "scraper" },
    ]);
    expect(a).toMatchObject({ status: 200, json: { status: "success", stored: 1, ignored: [{ index: 1, window: "seven_day_opus", reason: expect.stringMatching(/has passed/) }] } });
    expect(count("SELECT count(*) AS n FROM quota_observations WHERE source = 'scraper'")).toBe(1);
  });

  it("answers 400 naming the field for a bad reading, and stores none of the batch", async () => {
    const before = count("SELECT count(*) AS n FROM quota_observations");
    const a = await post("/resource-share/quota", [
      { window: "five_hour", used_percentage: 1, resets_at: inAnHour() },
      { window: "five_hour", used_percentage: -3, resets_at: inAnHour() },
    ]);
    expect(a).toMatchObject({ status: 400, json: { status: "error", issues: [{ field: "[1].used_percentage" }] } });
    expect(count("SELECT count(*) AS n FROM quota_observations")).toBe(before);
  });

  it("answers 415 for a body that is not JSON, as the increment routes do", async () => {
    const res = await webhook.request("/resource-share/quota", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    expect(res.status).toBe(415);
  });
});

describe("setAgent and advise through the runner", () => {
  it("sets weight, pause and note, clears the pause with null, and refuses an unknown agent unless asked to register it", async () => {
    // The refusal as a person at the shell meets it: the real CLI, beside the running webhook.
    const unknown = await runInvoke("setAgent", '{"claude_name":"Settings-New","weight":2}', env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No agent named "Settings-New".*register/);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ status: "error", error: "not_found" });
    const registered = await runHandler("setAgent", { claude_name: "Settings-New", weight: 2, paused_until: "2026-12-31T19:00:00+01:00", note: "release week", register: true }, invokeCtx());
    expect(registered).toEqual({
      ok: true,
      value: { claude_name: "Settings-New", weight: 2, paused_until: "2026-12-31T18:00:00.000Z", note: "release week", active: true, registered: true },
    });
    const cleared = await runHandler("setAgent", { claude_name: "Settings-New", paused_until: null }, invokeCtx());
    expect(cleared).toMatchObject({ ok: true, value: { weight: 2, paused_until: null, note: "release week", registered: false } });
    expect(sqlite3Rows(path, "SELECT weight, paused_until, note FROM claude_identities WHERE name = 'Settings-New'")).toEqual([
      { weight: 2, paused_until: null, note: "release week" },
    ]);
  });

  const bad: [string, string, string][] = [
    ["a weight of 0", '"weight":0', "weight"],
    ["a negative weight", '"weight":-1', "weight"],
    ["a weight that is not finite", '"weight":1e999', "weight"],
    ["a weight as text", '"weight":"2"', "weight"],
    ["a paused_until that is not a time", '"paused_until":"tomorrow"', "paused_until"],
    ["a misspelt setting", '"wieght":2', "wieght"],
  ];
  it.each(bad)("refuses %s naming the field, and changes nothing", async (_what, field, name) => {
    await post("/resource-share/increment", { claude_name: "Settings-Bad", cache_read_increment: 1, mode: "autonomy" });
    const before = sqlite3Rows(path, "SELECT * FROM claude_identities WHERE name = 'Settings-Bad'");
    const result = await runHandler("setAgent", JSON.parse(`{"claude_name":"Settings-Bad",${field}}`), invokeCtx());
    if (result.ok) throw new Error(`setAgent accepted ${field}: ${JSON.stringify(result.value)}`);
    expect(exitCode(result.error)).toBe(EXIT_REFUSED);
    expect((failureBody(result.error).issues as { field: string }[]).map((i) => i.field)).toContain(name);
    expect(sqlite3Rows(path, "SELECT * FROM claude_identities WHERE name = 'Settings-Bad'")).toEqual(before);
  });

  it("GET /resource/advice/{name} and advise as runner invoke runs it give the same advice; a name never seen is said to be unknown", async () => {
    await post("/resource-share/increment", { claude_name: "Advice-One", cache_read_increment: 1000, mode: "autonomy" });
    const a = await get("/resource/advice/Advice-One");
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ claude_name: "Advice-One", recommended_interval: expect.any(Number), quota_status: expect.any(String) });
    const invoked = await runHandler("advise", { claude_name: "Advice-One" }, invokeCtx());
    expect(invoked.ok && invoked.value.multipliers).toEqual(a.json.multipliers);
    expect(a.json.known).toBe(true);
    const unknown = await get("/resource/advice/Nobody-Here");
    expect(unknown).toMatchObject({ status: 200, json: { known: false } });
    expect(unknown.json.advice.reasons[0]).toMatch(/no agent named "Nobody-Here" has reported yet/);
  });
});
