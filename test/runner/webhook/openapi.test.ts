import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { handlers } from "../../../functions/index.ts";
import { webhookApp } from "../../support/apps.ts";
import { tempDatabasePath } from "../../support/database.ts";
import { openApiChecker } from "../../support/openapi.ts";

type Document = { openapi: string; paths: Record<string, Record<string, any>> };

async function served(): Promise<{ document: Document; webhook: Awaited<ReturnType<typeof webhookApp>> }> {
  const webhook = await webhookApp({ DATABASE_URL: `file:${tempDatabasePath()}`, RESOURCE_SHARE_TZ: "UTC" });
  const res = await webhook.request("/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return { document: (await res.json()) as Document, webhook };
}

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document by the specification's own schema", async () => {
    const { document } = await served();
    expect(document.openapi).toBe("3.1.0");
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("describes every route of the webhook, each with an example, and every example fits its own schema", async () => {
    const { document, webhook } = await served();
    const checker = openApiChecker(document);
    const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
    // The app's own routes (middleware is registered for ALL methods): a route added without a description fails here.
    const routes = new Set(webhook.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`));
    expect(routes.size).toBeGreaterThanOrEqual(11);
    expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).toEqual([...routes].sort());
    const problems: string[] = [];
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      const ok = op.responses["200"]?.content;
      const okExample = ok?.["application/json"]?.example ?? ok?.["text/plain"]?.example;
      if (okExample === undefined) problems.push(`${where}: no example reply`);
      else if (ok["application/json"]) {
        const found = checker.replyProblems(method, path.replace(/\{[^}]+\}/g, "x"), 200, okExample);
        if (found) problems.push(`${where}: its example reply does not fit: ${found}`);
      }
      if (method === "post") {
        const example = op.requestBody?.content["application/json"]?.example;
        if (example === undefined) problems.push(`${where}: no example request`);
        else {
          const found = checker.requestProblems(method, path, example);
          if (found) problems.push(`${where}: its example request does not fit: ${found}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("describes the reports the handlers take: their examples fit, and what the handlers refuse for its shape the document refuses too", async () => {
    const { document } = await served();
    const checker = openApiChecker(document);
    const fits = (body: unknown) => checker.requestProblems("POST", "/resource-share/increment", body);
    expect(fits(JSON.parse(handlers.ingest.example))).toBe("");
    expect(fits({ claude_name: "Sparkle-Orange", cost_delta: 0.04, mode: "collaboration", context_percentage: null, current_interval: 1800 })).toBe("");
    // Converted from the valibot schema: each rule below is one the handler applies.
    expect(fits({ claude_name: "Sparkle-Orange", mode: "autonomy" })).not.toBe(""); // neither tokens nor cost
    expect(fits({ claude_name: "Sparkle-Orange", mode: "autonomy", cost_delta: null })).not.toBe("");
    expect(fits({ claude_name: "Sparkle-Orange", mode: "vacation", cache_read_increment: 1 })).not.toBe("");
    expect(fits({ claude_name: "Sparkle-Orange", mode: "autonomy", cache_read_increment: 1.5 })).not.toBe("");
    expect(fits({ claude_name: "x".repeat(65), mode: "autonomy", cache_read_increment: 1 })).not.toBe("");
    expect(fits([{ claude_name: "Sparkle-Orange", mode: "autonomy", cache_read_increment: 1 }])).not.toBe("");
    const batch = (body: unknown) => checker.requestProblems("POST", "/resource-share/increments", body);
    expect(batch(JSON.parse(handlers.ingestBatch.example))).toBe("");
    expect(batch([])).not.toBe("");
    const quota = (body: unknown) => checker.requestProblems("POST", "/resource-share/quota", body);
    expect(quota({ window: "five_hour", used_percentage: 12, resets_at: 1764950400 })).toBe("");
    expect(quota({ window: "weekly", used_percentage: 12, resets_at: 1764950400 })).not.toBe("");
  });

  it("describes the webhook's real replies and refusals", async () => {
    const { document, webhook } = await served();
    const checker = openApiChecker(document);
    const refused = await webhook.post("/resource-share/increment", { claude_name: "", mode: "autonomy", cache_read_increment: 1 });
    expect(refused.status).toBe(400);
    expect(checker.replyProblems("POST", "/resource-share/increment", 400, refused.body)).toBe("");
    const exported = await webhook.post("/v1/metrics", JSON.parse(handlers.recordMetrics.example));
    expect(exported.status).toBe(200);
    expect(checker.replyProblems("POST", "/v1/metrics", 200, exported.body)).toBe("");
    const alerts = await webhook.request("/resource/alerts?rule=silent_agent");
    expect(alerts.status).toBe(200);
    expect(checker.replyProblems("GET", "/resource/alerts", 200, await alerts.json())).toBe("");
    const unknown = await webhook.request("/resource/today/%00");
    expect(unknown.status).toBe(400);
    expect(checker.replyProblems("GET", "/resource/today/x", 400, await unknown.json())).toBe("");
  });
});
