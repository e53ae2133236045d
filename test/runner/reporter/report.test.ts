import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { sqlite3Rows, tempDatabasePath, tempDir } from "../../support/database.ts";
import { spawnListening } from "../../support/process.ts";
import { runnerArgs, runRunner, startRunner, waitForOutput } from "../../support/server.ts";
import { appendLines, assistantLine, message } from "../../support/transcripts.ts";

const AGENT = "Sparkle-Orange";

/** Transcripts under CLAUDE_CONFIG_DIR/projects, and the reporter's environment. */
function agentHome(webhookUrl: string) {
  const root = tempDir("rs-reporter-");
  const env = {
    CLAUDE_NAME: AGENT,
    CLAUDE_CONFIG_DIR: join(root, "claude"),
    XDG_STATE_HOME: join(root, "state"),
    RESOURCE_SHARE_URL: webhookUrl,
  };
  const transcript = (name: string) => join(root, "claude", "projects", "-home-agent-project", name);
  return { env, transcript };
}

/** Messages n in [from, to), each in file a or b by parity, with every tenth also repeated in the other file. */
function writeMessages(transcript: (name: string) => string, from: number, to: number): void {
  const base = Date.now() - 3 * 3_600_000;
  const a: string[] = [];
  const b: string[] = [];
  for (let n = from; n < to; n++) {
    const line = assistantLine(message(n, new Date(base + n * 100).toISOString()));
    (n % 2 ? a : b).push(line);
    if (n % 10 === 0) (n % 2 ? b : a).push(line);
  }
  appendLines(transcript("a.jsonl"), a);
  appendLines(transcript("b.jsonl"), b);
}

const stored = (db: string) =>
  sqlite3Rows<{ n: number; ids: number; input: number; modes: string }>(
    db,
    `SELECT count(*) AS n, count(DISTINCT event_id) AS ids, coalesce(sum(input_tokens), 0) AS input, coalesce(group_concat(DISTINCT mode), '') AS modes
     FROM resource_share_increments WHERE claude_name = '${AGENT}'`,
  )[0]!;

/** Σ input_tokens of messages 0..n-1 (message(n) has input 10 + n). */
const inputOf = (n: number) => 10 * n + (n * (n - 1)) / 2;

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("runner report against the real webhook", () => {
  it("stores every message exactly once when the webhook stops mid-run and starts again, sending what waited in its queue", async () => {
    const db = tempDatabasePath();
    let webhook = await startRunner("serve", { DATABASE_URL: `file:${db}` });
    const port = new URL(webhook.url).port;
    const home = agentHome(webhook.url);
    writeMessages(home.transcript, 0, 1200);
    const reporter = await spawnListening([...runnerArgs(), "report", "--every", "1", "--mode", "autonomy"], {
      env: home.env,
      waitFor: /(reporting for)/,
    });
    onTestFinished(() => reporter.kill());
    await until("the first 1200 are stored", () => stored(db).n === 1200);

    await webhook.stop();
    writeMessages(home.transcript, 1200, 2000);
    await waitForOutput(reporter, /did not answer[^\n]*batch(es)? wait/);
    expect(stored(db).n).toBe(1200);

    webhook = await startRunner("serve", { DATABASE_URL: `file:${db}`, PORT: port });
    await until("all 2000 are stored", () => stored(db).n === 2000);
    expect(await reporter.stop()).toBe(0);
    expect(stored(db)).toEqual({ n: 2000, ids: 2000, input: inputOf(2000), modes: "autonomy" });
    expect(reporter.output()).toMatch(/repeat\(s\) skipped/);
  });

  it("stores every message exactly once when the reporter is killed with SIGKILL after the webhook stored a batch and before the reporter heard so", async () => {
    const db = tempDatabasePath();
    const webhook = await startRunner("serve", { DATABASE_URL: `file:${db}` });
    // Between the reporter and the webhook: passes each batch on, and when told, kills the
    // reporter once the webhook has answered 200, so the reporter never learns the batch is stored.
    let child: ChildProcess | undefined;
    let batches = 0;
    let killAt = 0;
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const answer = await fetch(`${webhook.url}${req.url}`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
      const text = await answer.text();
      if (answer.status === 200 && ++batches === killAt) {
        child?.kill("SIGKILL");
        res.destroy();
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    onTestFinished(() => void proxy.close());
    const home = agentHome(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    const TOTAL = 6_000;
    writeMessages(home.transcript, 0, TOTAL);
    // Killed after the 2nd batch of the first run, the 1st of the second, the 4th of the third; the fourth run ends by itself.
    const kills: (string | null)[] = [];
    for (const after of [2, 1, 4, 0]) {
      batches = 0;
      killAt = after;
      child = spawn(process.execPath, [...runnerArgs(), "report", "--once", "--mode", "collaboration"], { env: { ...process.env, ...home.env }, stdio: "ignore" });
      const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
      kills.push(signal ?? String(code));
      if (after === 2) writeMessages(home.transcript, TOTAL, TOTAL + 1000);
    }
    expect(kills).toEqual(["SIGKILL", "SIGKILL", "SIGKILL", "0"]);
    expect(stored(db)).toEqual({ n: TOTAL + 1000, ids: TOTAL + 1000, input: inputOf(TOTAL + 1000), modes: "collaboration" });
    // Nothing is left to send: one more pass sends nothing and exits 0.
    const last = await runRunner(["report", "--once", "--mode", "collaboration"], home.env);
    expect(last.code).toBe(0);
    expect(last.stdout).toMatch(/0 new message\(s\)[^\n]*0 sent; queue empty/);
    expect(stored(db).n).toBe(TOTAL + 1000);
  });

  it("stores every message once when a pass queued its reports but could not save how far it read, and the next pass queues them again", async () => {
    const db = tempDatabasePath();
    const webhook = await startRunner("serve", { DATABASE_URL: `file:${db}` });
    const home = agentHome("http://127.0.0.1:9"); // nothing listens there: the first run only queues
    writeMessages(home.transcript, 0, 700);
    const folder = join(home.env.XDG_STATE_HOME, "resource-share", "reporter", AGENT);
    // The state's temporary file taken by a directory: the state cannot be saved after the reports are queued.
    mkdirSync(join(folder, "state.json.tmp"), { recursive: true });
    const failed = await runRunner(["report", "--once", "--mode", "autonomy"], home.env);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/state\.json\.tmp/);
    rmSync(join(folder, "state.json.tmp"), { recursive: true });
    const again = await runRunner(["report", "--once", "--mode", "autonomy"], { ...home.env, RESOURCE_SHARE_URL: webhook.url });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/700 new message\(s\)/);
    expect(stored(db)).toEqual({ n: 700, ids: 700, input: inputOf(700), modes: "autonomy" });
  });

  it("keeps reports the webhook refuses as bad input aside with its reasons, and delivers the rest of their batch", async () => {
    const db = tempDatabasePath();
    const webhook = await startRunner("serve", { DATABASE_URL: `file:${db}` });
    const home = agentHome(webhook.url);
    const soon = Date.now() - 60_000;
    appendLines(home.transcript("a.jsonl"), [
      assistantLine(message(1, new Date(soon).toISOString())),
      // A clock that was wrong: two hours ahead, which the webhook refuses.
      assistantLine(message(2, new Date(soon + 2 * 3_600_000).toISOString())),
      assistantLine(message(3, new Date(soon).toISOString())),
    ]);
    const run = await runRunner(["report", "--once", "--mode", "autonomy"], home.env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/refused 1 report\(s\) as bad input; they are kept with its reasons in .*refused\.jsonl/);
    expect(stored(db)).toMatchObject({ n: 2, input: 11 + 13 });
    const refused = readFileSync(join(home.env.XDG_STATE_HOME, "resource-share", "reporter", AGENT, "refused.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(refused).toHaveLength(1);
    expect(refused[0].reports.map((r: { input_tokens: number }) => r.input_tokens)).toEqual([12]);
    expect(JSON.stringify(refused[0].reply)).toMatch(/timestamp/);
  });

  it("prints the advice of the replies when asked, and keeps its own interval whatever interval they advise", async () => {
    let requests = 0;
    const advising = createServer(async (req, res) => {
      for await (const _ of req);
      requests++;
      // An absurd advice: a reporter that obeyed it would sleep for 30 years.
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "success", results: [], recommended_interval: 1e9, reasons: ["over fair share"] }));
    });
    await new Promise<void>((r) => advising.listen(0, "127.0.0.1", r));
    onTestFinished(() => void advising.close());
    const home = agentHome(`http://127.0.0.1:${(advising.address() as AddressInfo).port}`);
    appendLines(home.transcript("a.jsonl"), [assistantLine(message(1, new Date(Date.now() - 60_000).toISOString()))]);
    const reporter = await spawnListening([...runnerArgs(), "report", "--every", "1", "--mode", "autonomy", "--show-advice"], { env: home.env, waitFor: /(reporting for)/ });
    onTestFinished(() => reporter.kill());
    await waitForOutput(reporter, /advice: recommended_interval 1000000000 s; reasons \["over fair share"\]/);
    // Two more messages, written after the advice: each reaches the webhook a pass later.
    for (const n of [2, 3]) {
      const before = requests;
      appendLines(home.transcript("a.jsonl"), [assistantLine(message(n, new Date(Date.now() - 60_000).toISOString()))]);
      await until(`message ${n} is sent`, () => requests > before);
    }
    expect(await reporter.stop()).toBe(0);
  });

  it("refuses to start while another reporter runs for the agent, and takes over the lock of one that was killed", async () => {
    const home = agentHome("http://127.0.0.1:9");
    const folder = join(home.env.XDG_STATE_HOME, "resource-share", "reporter", AGENT);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "lock"), String(process.pid)); // alive: this test's own process
    const refused = await runRunner(["report", "--once", "--mode", "autonomy"], home.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`another reporter \\(pid ${process.pid}\\) is running`));
    const dead = spawn("true");
    await once(dead, "exit");
    writeFileSync(join(folder, "lock"), String(dead.pid));
    const run = await runRunner(["report", "--once", "--mode", "autonomy"], home.env);
    expect(run.code).toBe(0);
    expect(existsSync(join(folder, "lock"))).toBe(false);
  });

  it("ends after the pass in progress when asked to stop during it, not after its interval", async () => {
    // A webhook that answers only when the test says so: the pass is held in its POST.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let asked: () => void = () => {};
    const requested = new Promise<void>((r) => (asked = r));
    const slow = createServer(async (req, res) => {
      for await (const _ of req);
      asked();
      await held;
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"success","results":[]}');
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    onTestFinished(() => void slow.close());
    const home = agentHome(`http://127.0.0.1:${(slow.address() as AddressInfo).port}`);
    appendLines(home.transcript("a.jsonl"), [assistantLine(message(1, new Date(Date.now() - 60_000).toISOString()))]);
    const reporter = await spawnListening([...runnerArgs(), "report", "--every", "3600", "--mode", "autonomy"], { env: home.env, waitFor: /(reporting for)/ });
    onTestFinished(() => reporter.kill());
    await requested;
    reporter.child.kill("SIGTERM");
    release();
    const [code] = (await once(reporter.child, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(reporter.output()).toMatch(/1 sent; queue empty/);
  });

  it("refuses to start without CLAUDE_NAME, naming it, and exits 1", async () => {
    const run = await runRunner(["report", "--once"], { CLAUDE_NAME: "", XDG_STATE_HOME: tempDir() });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/CLAUDE_NAME must not be empty/);
  });
});
