import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { postJson, runnerArgs, startRunner } from "../../support/server.ts";

// Half a minute past the half hour: the minutes shown stay the same for the half minute a run may take.
const inHours = (h: number) => Math.floor(Date.now() / 1000) + h * 3600 + 30 * 60 + 30;
const STATUS = {
  session_id: "s",
  model: { id: "claude-sonnet-4-5-20250929", display_name: "Sonnet 4.5" },
  rate_limits: { five_hour: { used_percentage: 41, resets_at: inHours(2) }, seven_day: { used_percentage: 63, resets_at: inHours(80) } },
};

/** Runs `runner statusline` with the statusLine JSON on stdin, as Claude Code does. */
async function statusline(url: string, stdin = JSON.stringify(STATUS), args: string[] = []): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [...runnerArgs(), "statusline", ...args], {
    env: { ...process.env, CLAUDE_NAME: "Sparkle-Orange", RESOURCE_SHARE_URL: url },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stdin.end(stdin);
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout };
}

async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown; close(): unknown }): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  onTestFinished(() => void server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("runner statusline", () => {
  it("prints the agent's tokens today, the windows and the advice from a real webhook, which stores the forwarded rate_limits", async () => {
    const path = tempDatabasePath();
    const server = await startRunner("serve", { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC" });
    await postJson(`${server.url}/resource-share/increment`, { claude_name: "Sparkle-Orange", mode: "autonomy", cache_read_increment: 1_234_567, cost_delta: 3.5 });
    // A deadline for a loaded test machine; the default (100 ms) is the next test's.
    const run = await statusline(server.url, undefined, ["--timeout-ms", "5000"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Sparkle-Orange · today 1\.2M tok \$3\.50 · 5h 41% \(resets in 2h30\) · 7d 63% \(resets in 3d8h\) · next in \d+ min \((good|medium|high|critical|paused|unknown)\)\n$/);
    await expect
      .poll(() => sqlite3Rows(path, "SELECT window, used_percentage, source FROM quota_observations ORDER BY window"))
      .toEqual([
        { window: "five_hour", used_percentage: 41, source: "api" },
        { window: "seven_day", used_percentage: 63, source: "api" },
      ]);
  });

  it("forwards rate_limits to POST /resource-share/quota and shows the advice, where the webhook offers them", async () => {
    const quota: unknown[] = [];
    const url = await listen(
      createHttpServer(async (req, res) => {
        let body = "";
        for await (const c of req) body += c;
        const json = (x: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(x));
        if (req.method === "POST" && req.url === "/resource-share/quota") return quota.push(JSON.parse(body)), json({ status: "success" });
        if (req.url === "/resource/today/Sparkle-Orange") return json({ total_tokens: 900, total_cost: 0 });
        if (req.url === "/resource/advice/Sparkle-Orange") return json({ recommended_interval: 1740, quota_status: "high" });
        res.writeHead(404).end();
      }),
    );
    const run = await statusline(url, undefined, ["--timeout-ms", "5000"]);
    expect(run.stdout).toBe("Sparkle-Orange · today 900 tok · 5h 41% (resets in 2h30) · 7d 63% (resets in 3d8h) · next in 29 min (high)\n");
    expect(quota).toEqual([
      [
        { window: "five_hour", used_percentage: 41, resets_at: STATUS.rate_limits.five_hour.resets_at },
        { window: "seven_day", used_percentage: 63, resets_at: STATUS.rate_limits.seven_day.resets_at },
      ],
    ]);
  });

  it("still prints a line and exits 0 when the webhook takes connections but never answers, or stdin is not JSON", async () => {
    const sockets: Socket[] = [];
    const url = await listen(createTcpServer((s) => void sockets.push(s)));
    onTestFinished(() => sockets.forEach((s) => s.destroy()));
    const run = await statusline(url);
    expect(run).toEqual({ code: 0, stdout: "Sparkle-Orange · today ? (webhook unreachable) · 5h 41% (resets in 2h30) · 7d 63% (resets in 3d8h)\n" });
    expect(await statusline(url, "not json")).toEqual({ code: 0, stdout: "Sparkle-Orange · today ? (webhook unreachable)\n" });
  });
});
