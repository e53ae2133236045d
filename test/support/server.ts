import { spawn } from "node:child_process";
import { once } from "node:events";
import { onTestFinished } from "vitest";
import { BUILT_RUNNER } from "./built-runner.ts";
import { freeLoopbackPorts, ROOT, spawnListening, type RunningProcess } from "./process.ts";

export type { RunningProcess } from "./process.ts";

// Absolute paths, so the runner can start in any working directory.
const RUNNER = `${ROOT}runner/index.ts`;
const TSX = `file://${ROOT}node_modules/tsx/dist/loader.mjs`;

/**
 * Node's arguments that start the runner: the test run's build of it
 * (built-runner.ts), or with `viaTsx` the source through tsx, as people
 * and the systemd units start it.
 */
export function runnerArgs({ viaTsx = false }: { viaTsx?: boolean } = {}): string[] {
  return viaTsx ? ["--import", TSX, RUNNER] : [BUILT_RUNNER];
}

/**
 * For what a process is needed for: signals, crashes, locks, start-up
 * settings, the CLI. The HTTP contract is tested on the apps in process
 * (apps.ts), built by the same factories.
 *
 * Starts `runner <command>` as a real process with the given environment on
 * free loopback ports (PORT and WEB_PORT unless set) and waits for its
 * "listening on http://..." line. Stopped after the test if still running;
 * with `stopAfterEach: false` (a process started in beforeAll, shared by a
 * file's tests) the caller stops it in afterAll.
 */
export async function startRunner(
  command: string,
  env: Record<string, string>,
  {
    waitFor = /listening on (http:\/\/[\d.:[\]]+)/,
    timeoutMs = 45_000,
    cwd = ROOT,
    stopAfterEach = true,
    viaTsx = false,
  }: {
    waitFor?: RegExp;
    timeoutMs?: number;
    /** Working directory of the process (the default DATABASE_URL is relative to it). */
    cwd?: string;
    /** False when one process serves a whole describe block: stop it yourself in afterAll. */
    stopAfterEach?: boolean;
    /** Start `tsx runner` from source, as people do, not the test run's build. */
    viaTsx?: boolean;
  } = {},
): Promise<RunningProcess> {
  let running: RunningProcess;
  for (let attempt = 1; ; attempt++) {
    const [port, webPort] = await freeLoopbackPorts(2);
    try {
      running = await spawnListening([...runnerArgs({ viaTsx }), command], {
        cwd,
        env: { PORT: String(port), WEB_PORT: String(webPort), LOG_LEVEL: "info", ...env },
        waitFor,
        timeoutMs,
      });
      break;
    } catch (err) {
      // Another process took a probed port before the runner bound it.
      if (attempt >= 3 || !/already in use/.test((err as Error).message)) throw err;
    }
  }
  if (stopAfterEach) onTestFinished(() => running.kill());
  return running;
}

/** Runs `runner ARGS...` to completion. */
export async function runRunner(
  args: string[],
  env: Record<string, string>,
  {
    cwd = ROOT,
    asUser,
    viaTsx = false,
  }: {
    cwd?: string;
    /** Run as this uid (and gid), e.g. 65534 (nobody): tests run as root, who may write anywhere. */
    asUser?: number;
    /** Start `tsx runner` from source, as people do, not the test run's build. */
    viaTsx?: boolean;
  } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const node = [process.execPath, ...runnerArgs({ viaTsx }), ...args];
  const command = asUser === undefined ? node : ["setpriv", `--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", ...node];
  const child = spawn(command[0]!, command.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

/** Runs `runner invoke NAME json` to completion. */
export function runInvoke(
  name: string,
  json: string | undefined,
  env: Record<string, string>,
  options: { cwd?: string; viaTsx?: boolean } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runRunner(["invoke", name, ...(json === undefined ? [] : [json])], env, options);
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Waits until the process has printed a line matching `pattern`; returns the match. */
export async function waitForOutput(server: RunningProcess, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const m = pattern.exec(server.output());
    if (m) return m[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${server.output()}`);
}
