import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isLoopback } from "../../../runner/platform/addresses.ts";
import { tokensRequired } from "../../../runner/webhook/auth.ts";
import { runHandler } from "../../../runner/platform/run-handler.ts";
import { webhookApp } from "../../support/apps.ts";
import { report } from "../../support/clients.ts";
import { testContext } from "../../support/context.ts";
import { openTestDatabase, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { runInvoke } from "../../support/server.ts";

const rows = (path: string) => sqlite3Rows<{ n: number }>(path, "SELECT count(*) AS n FROM resource_share_increments")[0]!.n;

/**
 * A token for an agent that has not reported yet (with tokens required, it
 * cannot before it has one), issued by the handler `runner invoke
 * issueToken` runs, over a connection of its own as the CLI has.
 */
async function issue(path: string, name: string): Promise<string> {
  const database = await openTestDatabase(path);
  const out = await runHandler("issueToken", { claude_name: name, register: true }, testContext(database.db));
  database.close();
  if (!out.ok) throw new Error(out.error.message);
  return out.value.token;
}

describe("who may write", () => {
  it("requires tokens on any address but loopback, or when REQUIRE_TOKENS=1", () => {
    for (const host of ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) expect(isLoopback(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "::ffff:10.0.0.1", "127.999.0.1", "::2", "example.org"]) {
      expect(isLoopback(host)).toBe(false);
      expect(tokensRequired(host, false)).toBe(true);
    }
    expect(tokensRequired("127.0.0.1", false)).toBe(false);
    expect(tokensRequired("127.0.0.1", true)).toBe(true);
  });

  it("accepts a write only with the token of the agent named in every report, and keeps tokens out of the database and logs", async () => {
    const path = tempDatabasePath();
    const env = { DATABASE_URL: `file:${path}`, REQUIRE_TOKENS: "1" };
    const webhook = await webhookApp(env);
    const one = "/resource-share/increment";
    const many = "/resource-share/increments";
    const orange = await issue(path, "Sparkle-Orange");
    const blue = await issue(path, "Sparkle-Blue");
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

    const refused = [
      await webhook.post(one, report("Sparkle-Orange")),
      await webhook.post(one, report("Sparkle-Orange"), bearer("rs_not-a-real-token")),
      await webhook.post(one, report("Sparkle-Orange"), { authorization: `Basic ${orange}` }),
      await webhook.post(one, report("Sparkle-Orange"), bearer(blue)),
      await webhook.post(many, [report("Sparkle-Orange"), report("Sparkle-Blue")], bearer(orange)),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    expect(refused[3]!.body.message).toMatch(/belongs to "Sparkle-Blue", not to "Sparkle-Orange"/);
    expect(rows(path)).toBe(0);

    expect((await webhook.post(one, report("Sparkle-Orange"), bearer(orange))).status).toBe(200);
    expect((await webhook.post(many, [report("Sparkle-Blue"), report("Sparkle-Blue")], bearer(blue))).status).toBe(200);
    expect(rows(path)).toBe(3);

    // Only the SHA-256 of each token is kept.
    const hashes = sqlite3Rows<{ name: string; token_hash: string }>(path, "SELECT name, token_hash FROM claude_identities ORDER BY name");
    expect(hashes).toEqual([
      { name: "Sparkle-Blue", token_hash: createHash("sha256").update(blue).digest("hex") },
      { name: "Sparkle-Orange", token_hash: createHash("sha256").update(orange).digest("hex") },
    ]);
    // Revoked from the CLI, a process of its own: the webhook refuses the token at once.
    const revoked = await runInvoke("revokeToken", '{"claude_name":"Sparkle-Orange"}', env);
    expect(revoked.code).toBe(0);
    expect((await webhook.post(one, report("Sparkle-Orange"), bearer(orange))).status).toBe(401);
    expect(rows(path)).toBe(3);

    await webhook.close();
    const files = readFileSync(path, "latin1") + readFileSync(`${path}-wal`, { encoding: "latin1", flag: "a+" });
    for (const token of [orange, blue]) {
      expect(webhook.output()).not.toContain(token);
      expect(files).not.toContain(token);
    }
    expect(webhook.output()).toMatch(/WARN 401 POST \/resource-share\/increment: unknown or revoked token/);
  });

  it("refuses a token for a name that never reported, naming claude_name, unless asked to register it", async () => {
    const path = tempDatabasePath();
    const env = { DATABASE_URL: `file:${path}` };
    expect((await runInvoke("ingest", JSON.stringify(report("Sparkle-Orange")), env)).code).toBe(0);
    const agents = () => sqlite3Rows(path, "SELECT name, token_hash IS NOT NULL AS has_token FROM claude_identities ORDER BY name");

    const typo = await runInvoke("issueToken", '{"claude_name":"Sparkle-Ornage"}', env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('claude_name: no agent named "Sparkle-Ornage" has reported yet; check the spelling');
    expect(typo.stderr).toContain('"register": true');
    expect(JSON.parse(typo.stdout)).toMatchObject({ status: "error", error: "not_found", issues: [{ field: "claude_name" }] });
    expect(agents()).toEqual([{ name: "Sparkle-Orange", has_token: 0 }]);

    // A known agent needs no flag; a new one is registered when asked.
    const [known, fresh] = await Promise.all([
      runInvoke("issueToken", '{"claude_name":"Sparkle-Orange"}', env),
      runInvoke("issueToken", '{"claude_name":"Quiet-Teal","register":true}', env),
    ]);
    expect(known.code, known.stderr).toBe(0);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(agents()).toEqual([
      { name: "Quiet-Teal", has_token: 1 },
      { name: "Sparkle-Orange", has_token: 1 },
    ]);
    const hash = (name: string) => sqlite3Rows<{ h: string }>(path, `SELECT token_hash AS h FROM claude_identities WHERE name = '${name}'`)[0]!.h;
    expect(hash("Sparkle-Orange")).toBe(createHash("sha256").update(JSON.parse(known.stdout).token).digest("hex"));
    expect(hash("Quiet-Teal")).toBe(createHash("sha256").update(JSON.parse(fresh.stdout).token).digest("hex"));
  });

  it("keeps the existing token-less clients working on loopback, but checks a token that is sent", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const one = "/resource-share/increment";
    expect((await webhook.post(one, report("Sparkle-Orange"))).status).toBe(200);
    expect((await webhook.post(one, report("Sparkle-Orange"), { authorization: "Bearer wrong" })).status).toBe(401);
    const token = await issue(path, "Sparkle-Orange");
    expect((await webhook.post(one, report("Sparkle-Orange"), { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(rows(path)).toBe(2);
  });
});
