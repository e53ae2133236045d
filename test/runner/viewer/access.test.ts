import { describe, expect, it } from "vitest";
import { IN_PROCESS_ORIGIN, viewerApp } from "../../support/apps.ts";
import { openTestDatabase } from "../../support/database.ts";
import { startRunner } from "../../support/server.ts";

/** Starting Node with tsx can take long on a loaded 2-core machine; this bounds it, it does not time it. */
const START_MS = 45_000;

async function databaseWithAgent(): Promise<string> {
  const db = await openTestDatabase();
  await db.client.execute("INSERT INTO claude_identities (name) VALUES ('Secret-Agent')");
  return db.path;
}

describe("viewer access", { timeout: 120_000 }, () => {
  it("refuses to start on a non-loopback address without WEB_PASSWORD, saying what to do", async () => {
    const path = await databaseWithAgent();
    const started = startRunner("web", { DATABASE_URL: `file:${path}`, WEB_HOST: "0.0.0.0" }, { timeoutMs: START_MS });
    await expect(started).rejects.toThrow(/exited with 1 before listening:[\s\S]*0\.0\.0\.0[\s\S]*WEB_PASSWORD is not set[\s\S]*Set WEB_PASSWORD/);
  });

  it("asks every page for the password, accepts it by form or Basic, and slows down guessing", async () => {
    const path = await databaseWithAgent();
    const viewer = await viewerApp({ DATABASE_URL: `file:${path}`, WEB_PASSWORD: "correct horse" });
    const get = (p: string, headers: Record<string, string> = {}) => viewer.request(p, { headers, redirect: "manual" });
    const login = (password: string) =>
      viewer.request("/login", {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: IN_PROCESS_ORIGIN },
        body: new URLSearchParams({ password, next: "/tables/claude_identities" }),
      });

    for (const p of ["/", "/tables/claude_identities", "/tables/claude_identities/export/csv", "/query?sql=SELECT+name+FROM+claude_identities", "/daily"]) {
      const res = await get(p);
      const body = await res.text();
      expect(res.status, p).toBe(401);
      expect(body).toContain('name="password"');
      expect(body).not.toContain("Secret-Agent");
    }
    const refused = await get("/");
    expect(refused.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    expect(refused.headers.get("x-frame-options")).toBe("DENY");
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");

    const basic = await get("/tables/claude_identities/export/csv", { authorization: `Basic ${Buffer.from(":correct horse").toString("base64")}` });
    expect(basic.status).toBe(200);
    expect(await basic.text()).toContain("Secret-Agent");

    const ok = await login("correct horse");
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/tables/claude_identities");
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const page = await get("/tables/claude_identities", { cookie: cookie.split(";")[0]! });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Secret-Agent");

    // Three wrong guesses are free; after the fourth the address must wait,
    // and even the right password is not checked until then.
    for (let i = 1; i <= 3; i++) expect((await login(`guess ${i}`)).status).toBe(401);
    const fourth = await login("guess 4");
    expect(fourth.status).toBe(401);
    expect(await fourth.text()).toMatch(/wait \d+ s before the next try/);
    const blocked = await login("correct horse");
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toMatch(/Too many wrong passwords/);
  });

  it("runs beside the webhook under `start`", async () => {
    const path = await databaseWithAgent();
    const both = await startRunner("start", { DATABASE_URL: `file:${path}` }, { waitFor: /viewer listening on (http:\/\/[\d.:]+)/, timeoutMs: START_MS });
    const res = await fetch(`${both.url}/tables/claude_identities`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Secret-Agent");
    expect(both.output()).toMatch(/webhook listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(await both.stop()).toBe(0);
  });
});
