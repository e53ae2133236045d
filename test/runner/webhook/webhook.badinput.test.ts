import { describe, expect, it } from "vitest";
import { sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { webhookApp } from "../../support/apps.ts";

/** A marker in an ignored field: no answer may repeat the request back. */
const MARKER = "NEVER-ECHO-7f3a";
const base = `"claude_name":"Sparkle-Orange","mode":"autonomy","note":"${MARKER}"`;

/**
 * Inputs the original server accepted and stored (or crashed on), each as
 * the raw JSON text a client sends, with the field the answer must name.
 */
const refused: [string, string, string][] = [
  ["negative tokens", `{${base},"cache_read_increment":-5}`, "cache_read_increment"],
  ["fractional tokens", `{${base},"cache_read_increment":12.5}`, "cache_read_increment"],
  ["tokens as a boolean", `{${base},"cache_read_increment":true}`, "cache_read_increment"],
  ["tokens as a string", `{${base},"cache_read_increment":"1234"}`, "cache_read_increment"],
  ["tokens beyond 2^53-1", `{${base},"cache_read_increment":9007199254740992}`, "cache_read_increment"],
  ["infinite tokens", `{${base},"cache_read_increment":1e999}`, "cache_read_increment"],
  ["negative cost", `{${base},"cost_delta":-0.01}`, "cost_delta"],
  ["infinite cost", `{${base},"cost_delta":1e999}`, "cost_delta"],
  ["cost as a string", `{${base},"cost_delta":"0.04"}`, "cost_delta"],
  ["cost as a boolean", `{${base},"cost_delta":false}`, "cost_delta"],
  ["percentage over 100", `{${base},"cache_read_increment":1,"context_percentage":100.5}`, "context_percentage"],
  ["percentage as a string", `{${base},"cache_read_increment":1,"context_percentage":"61"}`, "context_percentage"],
  ["neither tokens nor cost", `{${base}}`, "body"],
  ["an unknown mode", `{"claude_name":"A","mode":"autonomous","cache_read_increment":1,"note":"${MARKER}"}`, "mode"],
  ["a mode in other case", `{"claude_name":"A","mode":"Collaboration","cache_read_increment":1}`, "mode"],
  ["no mode", `{"claude_name":"A","cache_read_increment":1}`, "mode"],
  ["an empty name", `{"claude_name":"","mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["a whitespace-only name", `{"claude_name":" \\t ","mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["a name with a NUL", `{"claude_name":"Spark\\u0000le","mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["a name with a newline", `{"claude_name":"Spark\\nle","mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["a name with an escape sequence", `{"claude_name":"\\u001b[31mred","mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["a name with half a surrogate pair", `{"claude_name":"Spark\\ud83d","mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["a host name with a NUL", `{${base},"cache_read_increment":1,"hostname":"clap\\u0000-1"}`, "hostname"],
  ["a name of 65 characters", `{"claude_name":"${"x".repeat(65)}","mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["a number for a name", `{"claude_name":42,"mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["no name", `{"mode":"autonomy","cache_read_increment":1}`, "claude_name"],
  ["an array", `[{${base},"cache_read_increment":1}]`, "body"],
  ["null", "null", "body"],
  ["a bare number", "1234", "body"],
  ["a replay from the future", `{${base},"cache_read_increment":1,"timestamp":"2999-01-01T00:00:00Z"}`, "timestamp"],
  ["a day that does not exist", `{${base},"cache_read_increment":1,"timestamp":"2026-02-30T10:00:00Z"}`, "timestamp"],
];

describe("bad input to the webhook", () => {
  it("answers each refused input with a 4xx naming the field, and stores nothing", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const send = (route: string, body: string, type = "application/json") =>
      webhook.request(route, { method: "POST", headers: { "content-type": type }, body });

    for (const [what, body, field] of refused) {
      const res = await send("/resource-share/increment", body);
      const text = await res.text();
      expect([what, res.status]).toEqual([what, 400]);
      const answer = JSON.parse(text);
      expect(answer.status).toBe("error");
      expect(answer.issues.map((i: { field: string }) => i.field)).toContain(field);
      expect(text).not.toContain(MARKER);
      // The same report inside a batch refuses the whole batch, naming its index.
      if (!body.startsWith("{")) continue;
      const batch = await send("/resource-share/increments", `[{"claude_name":"Fine","mode":"autonomy","cache_read_increment":1},${body}]`);
      expect([what, batch.status]).toEqual([what, 400]);
      expect(JSON.stringify(await batch.json())).toContain(field === "body" ? '"[1]"' : `[1].${field}`);
    }

    const notJson = await send("/resource-share/increment", `{"claude_name":"${MARKER}",`);
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).not.toContain(MARKER); // JSON.parse's own message would quote it
    expect((await send("/resource-share/increment", `{${base},"cache_read_increment":1}`, "text/plain")).status).toBe(415);

    const tenMegabytes = `{${base},"cache_read_increment":1,"padding":"${"x".repeat(10 * 1024 * 1024)}"}`;
    for (const route of ["/resource-share/increment", "/resource-share/increments"]) {
      const big = await send(route, route.endsWith("s") ? `[${tenMegabytes}]` : tenMegabytes);
      expect(big.status).toBe(413);
      expect(await big.text()).not.toContain(MARKER);
    }

    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: 0 }]);
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM claude_identities")).toEqual([{ n: 0 }]);
    expect(webhook.output()).toMatch(/POST \/resource-share\/increment 400 /); // the log is the webhook's
    expect(webhook.output()).not.toMatch(/ 5\d\d |    at /); // no 5xx, no stack trace in the log
    await webhook.close();
  });
});
