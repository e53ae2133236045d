import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freeLoopbackPorts, ROOT, spawnListening, type RunningProcess } from "../support/process.ts";
import { cpuMs, rssMb } from "./load.ts";
import type { Figure } from "./table.ts";

/**
 * The reporter (runner report) on generated transcripts, never real ones:
 * - first pass: MB/s reading SIZE MB into its queue (the webhook is
 *   unreachable, so this is reading, counting and queueing, not the
 *   webhook's speed), beside ccusage daily --json --offline on the same files;
 * - steady state: the same agent (its history read, its state holding the
 *   10,000 latest keys) writing one message a second, the reporter passing
 *   every 30 s: its CPU share and RSS beside an idle `node --import tsx` process;
 * - its queue: 10,000 reports made while the webhook is down, and the time
 *   to drain them once it is back.
 * `node --import tsx test/bench/reporter.ts [--size-mb=N] [--steady-seconds=N]` runs it alone.
 */
export interface ReporterBenchOptions {
  sizeMb: number;
  steadySeconds: number;
}

// As the user unit runs it (systemd/resource-share-reporter@.service).
const RUNNER = [process.execPath, "--max-semi-space-size=1", "--import", "tsx", join(ROOT, "runner/index.ts")];
const MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001", "claude-opus-4-5-20251101"];
const FILLER = "The change keeps the offsets behind the queue, so a crash loses nothing. ".repeat(12);

/**
 * Transcripts of about sizeMb under dir/projects, shaped like Claude Code's:
 * each turn a user line carrying a tool result (1 to 12 KB: most of a real
 * transcript's bytes are tool output) and an assistant message written once
 * per content block (1 to 3 lines with the same ids and usage).
 */
export function generate(dir: string, sizeMb: number): { bytes: number; messages: number } {
  let bytes = 0;
  let messages = 0;
  let seq = 0;
  const start = Date.now() - 20 * 86_400_000;
  const output = FILLER.repeat(14);
  for (let file = 0; bytes < sizeMb * 1e6; file++) {
    const path = join(dir, "projects", `-home-agent-p${file % 40}`, `session-${file}.jsonl`);
    mkdirSync(join(path, ".."), { recursive: true });
    const fd = openSync(path, "w");
    let chunk = "";
    for (let i = 0; i < 1000; i++, seq++) {
      const timestamp = new Date(start + seq * 1000).toISOString();
      const result = output.slice(0, 1000 + ((seq * 7919) % 11_000));
      chunk += `${JSON.stringify({ parentUuid: `a${seq - 1}`, type: "user", uuid: `u${seq}`, sessionId: `s${file}`, timestamp, message: { role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${seq}`, content: result }] }, toolUseResult: { stdout: result.slice(0, 500), stderr: "" } })}\n`;
      const usage = { input_tokens: seq % 900, output_tokens: seq % 4000, cache_creation_input_tokens: (seq * 7) % 30_000, cache_read_input_tokens: (seq * 13) % 150_000 };
      const blocks = 1 + (seq % 3);
      for (let b = 0; b < blocks; b++) {
        const content = b === blocks - 1 ? [{ type: "tool_use", id: `toolu_${seq + 1}`, name: "Bash", input: { command: "npx vitest run test/runner/reporter/" } }] : [{ type: "text", text: FILLER.slice(0, 200 + ((seq * 31) % 700)) }];
        chunk += `${JSON.stringify({ parentUuid: `u${seq}`, type: "assistant", uuid: `a${seq}-${b}`, sessionId: `s${file}`, timestamp, message: { id: `msg_${seq}`, type: "message", role: "assistant", model: MODELS[seq % MODELS.length], content, stop_reason: null, usage }, requestId: `req_${seq}` })}\n`;
      }
      messages++;
    }
    writeSync(fd, chunk);
    closeSync(fd);
    bytes += Buffer.byteLength(chunk);
  }
  return { bytes, messages };
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile(args[0]!, args.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }),
    );
  });
}

async function idleRssMb(): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "-e", "setInterval(() => {}, 1000)"], { cwd: ROOT, stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 3000));
  const mb = rssMb(child.pid!);
  child.kill("SIGKILL");
  await once(child, "exit");
  return mb;
}

export async function benchReporter(o: ReporterBenchOptions, log: (line: string) => void): Promise<{ figures: Figure[]; raw: Record<string, unknown> }> {
  const scratch = mkdtempSync(join(tmpdir(), "rs-bench-reporter-"));
  const stoppers: RunningProcess[] = [];
  try {
    const claude = join(scratch, "claude");
    const made = generate(claude, o.sizeMb);
    log(`  generated ${(made.bytes / 1e6).toFixed(0)} MB of transcripts, ${made.messages} messages`);
    const env = (state: string, url = "http://127.0.0.1:9") => ({ CLAUDE_NAME: "Bench-Agent", CLAUDE_CONFIG_DIR: claude, XDG_STATE_HOME: join(scratch, state), RESOURCE_SHARE_URL: url });

    // Just written: both read them from the page cache.
    const first = await run([...RUNNER, "report", "--once", "--mode", "autonomy", "--max-age-days", "3650"], env("first"));
    log(`  reporter first pass: ${first.seconds.toFixed(1)} s (${(made.bytes / 1e6 / first.seconds).toFixed(0)} MB/s): ${first.stdout.trim().slice(0, 160)}`);
    const cc = await run([join(ROOT, "node_modules/.bin/ccusage"), "daily", "--json", "--offline"], { CLAUDE_CONFIG_DIR: claude, HOME: scratch });
    // A ccusage that did not run would make the reporter look slow beside a time of nothing.
    if (cc.code !== 0)
      throw new Error(`ccusage daily failed (exit ${cc.code}): ${(cc.stderr || cc.stdout).trim().split("\n")[0] || "no output"}. Run npm ci (it is a dev dependency) and the benchmark again.`);
    log(`  ccusage daily --json --offline: ${cc.seconds.toFixed(1)} s (${(made.bytes / 1e6 / cc.seconds).toFixed(0)} MB/s)`);

    // Steady state: a webhook, the reporter every 30 s, one message a second appended to a session.
    const [port, webPort] = await freeLoopbackPorts(2);
    const webhook = await spawnListening(["--import", "tsx", join(ROOT, "runner/index.ts"), "serve"], {
      env: { DATABASE_URL: `file:${join(scratch, "steady.db")}`, PORT: String(port), WEB_PORT: String(webPort), LOG_LEVEL: "info" },
    });
    stoppers.push(webhook);
    // The agent of the first pass, with its history: what it queued goes to the webhook first.
    const backlog = await run([...RUNNER, "report", "--once", "--mode", "autonomy", "--max-age-days", "3650"], env("first", webhook.url));
    log(`  backlog of the first pass sent in ${backlog.seconds.toFixed(1)} s: ${backlog.stdout.trim().slice(0, 160)}`);
    const live = join(claude, "projects", "-home-agent-live", "session.jsonl");
    mkdirSync(join(live, ".."), { recursive: true });
    appendFileSync(live, "");
    const reporter = await spawnListening([...RUNNER.slice(1), "report", "--mode", "autonomy", "--max-age-days", "3650"], {
      env: env("first", webhook.url),
      waitFor: /(reporting for)/,
    });
    stoppers.push(reporter);
    let n = 0;
    const writer = setInterval(() => {
      const at = new Date().toISOString();
      const usage = { input_tokens: 3, output_tokens: 400, cache_creation_input_tokens: 2000, cache_read_input_tokens: 90_000 };
      appendFileSync(live, `${JSON.stringify({ type: "assistant", requestId: `live_${n}`, timestamp: at, message: { id: `live_${n}`, model: MODELS[0], usage, content: [{ type: "text", text: FILLER }] } })}\n`);
      n++;
    }, 1000);
    // Its first pass and what follows a start (the collection of start-up garbage, about 0.3 s of
    // CPU, seen when the window opened right after the first pass) are not the steady state: the
    // window opens after the second pass, and lasts at least one interval, so that it holds a pass.
    const passes = () => reporter.output().match(/^report: \d+ new/gm)?.length ?? 0;
    for (let i = 0; i < 600 && passes() < 2; i++) await new Promise((r) => setTimeout(r, 100));
    const cpu0 = cpuMs(reporter.child.pid!);
    const t0 = Date.now();
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(reporter.child.pid!))), 500);
    await new Promise((r) => setTimeout(r, Math.max(31, o.steadySeconds) * 1000));
    clearInterval(sampler);
    clearInterval(writer);
    const cpuShare = (cpuMs(reporter.child.pid!) - cpu0) / (Date.now() - t0);
    const idle = await idleRssMb();
    log(`  steady state: ${(cpuShare * 100).toFixed(2)}% of a core, peak RSS ${peakRss.toFixed(0)} MB (idle node --import tsx: ${idle.toFixed(0)} MB), ${n} messages written`);
    await reporter.stop();

    // The queue: 10,000 reports while the webhook is down, then drained.
    const queueDir = join(scratch, "queue", "projects", "-home-agent-q");
    mkdirSync(queueDir, { recursive: true });
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++)
      lines.push(JSON.stringify({ type: "assistant", requestId: `q_${i}`, timestamp: new Date(Date.now() - 3_600_000 + i * 100).toISOString(), message: { id: `q_${i}`, model: MODELS[i % 4], usage: { input_tokens: i, output_tokens: 1, cache_read_input_tokens: 5 } } }));
    appendFileSync(join(queueDir, "s.jsonl"), `${lines.join("\n")}\n`);
    const queueEnv = { ...env("queue", "http://127.0.0.1:9"), CLAUDE_CONFIG_DIR: join(scratch, "queue") };
    const down = await run([...RUNNER, "report", "--once", "--mode", "autonomy"], queueEnv);
    const drained = await run([...RUNNER, "report", "--once", "--mode", "autonomy"], { ...queueEnv, RESOURCE_SHARE_URL: webhook.url });
    const stored = /(\d+) sent/.exec(drained.stdout)?.[1];
    log(`  queue: webhook down: exit ${down.code}; back: ${stored} sent in ${drained.seconds.toFixed(1)} s (process start included), exit ${drained.code}`);
    await webhook.stop();

    const mbps = made.bytes / 1e6 / first.seconds;
    const ccMbps = made.bytes / 1e6 / cc.seconds;
    const figures: Figure[] = [
      { name: `reporter first pass, ${(made.bytes / 1e6).toFixed(0)} MB`, value: mbps, unit: "MB/s", reference: "target", referenceValue: 100, ratio: mbps / 100, target: ">= 100 MB/s", met: mbps >= 100 },
      { name: "reporter first pass vs ccusage", value: mbps, unit: "MB/s", reference: "ccusage daily --offline", referenceValue: ccMbps, ratio: mbps / ccMbps, target: "> 1", met: mbps > ccMbps },
      { name: "reporter steady CPU, 1 msg/s", value: cpuShare * 100, unit: "% core", reference: "target", referenceValue: 1, ratio: cpuShare * 100, target: "< 1%", met: cpuShare < 0.01 },
      { name: "reporter steady RSS", value: peakRss, unit: "MB", reference: "idle node --import tsx", referenceValue: idle, ratio: peakRss / idle, target: `+${(peakRss - idle).toFixed(1)} MB <= +15 MB`, met: peakRss - idle <= 15 },
      { name: "reporter queue drain, 10,000", value: drained.seconds, unit: "s", reference: "target", referenceValue: 10, ratio: drained.seconds / 10, target: "< 10 s, all sent", met: drained.seconds < 10 && stored === "10000" && down.code === 2 },
    ];
    return { figures, raw: { made, first: first.seconds, ccusage: cc.seconds, backlogSeconds: backlog.seconds, cpuShare, peakRss, idle, drainSeconds: drained.seconds, stored } };
  } finally {
    for (const p of stoppers) await p.kill();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
  const { renderTable } = await import("./table.ts");
  const { figures } = await benchReporter({ sizeMb: arg("size-mb", 1000), steadySeconds: arg("steady-seconds", 60) }, (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(`${renderTable(figures)}\n`);
  if (figures.some((f) => f.met === false)) process.exitCode = 3;
}
