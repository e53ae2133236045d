import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

export interface RunningProcess {
  /** Base URL, e.g. http://127.0.0.1:41234 (from the "listening on" line). */
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export const ROOT = new URL("../../", import.meta.url).pathname;

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Working directory (default: the project root). */
  cwd?: string;
  /** The line that says it is ready; its first group is the URL. */
  waitFor?: RegExp;
  timeoutMs?: number;
  /** Keep what it prints (off for long load runs with the access log on). */
  keepOutput?: boolean;
  /**
   * Send stdout and stderr to this file instead of a pipe to us. Under load
   * a busy parent drains a pipe late, and the child then blocks in write():
   * a file behaves like journald, which drains at once.
   */
  logFile?: string;
}

/**
 * Starts `node ARGS` from the project root and waits for its "listening on
 * http://..." line. Knows nothing about the test framework, so the
 * benchmark uses it too; tests use startRunner (server.ts), which also stops
 * the process after each test.
 */
export async function spawnListening(
  args: string[],
  { env = {}, cwd = ROOT, waitFor = /listening on (http:\/\/[\d.:[\]]+)/, timeoutMs = 20_000, keepOutput = true, logFile }: SpawnOptions = {},
): Promise<RunningProcess> {
  const fd = logFile === undefined ? undefined : openSync(logFile, "w");
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: fd === undefined ? ["ignore", "pipe", "pipe"] : ["ignore", fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  let text = "";
  let ready = false;
  const keep = (d: Buffer) => {
    if (keepOutput || !ready) text += d.toString();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = once(child, "exit");
  const url = await new Promise<string>((resolve, reject) => {
    const what = args.join(" ");
    let poll: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill("SIGKILL");
      reject(new Error(`node ${what} did not start in ${timeoutMs} ms:\n${text}`));
    }, timeoutMs);
    if (logFile !== undefined) poll = setInterval(() => check(), 20);
    const check = () => {
      if (logFile !== undefined) text = readFileSync(logFile, "utf8");
      const m = waitFor.exec(text);
      if (m && !ready) {
        ready = true;
        clearTimeout(timer);
        clearInterval(poll);
        resolve(m[1] ?? "");
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      if (!ready) {
        if (logFile !== undefined) text = readFileSync(logFile, "utf8");
        reject(new Error(`node ${what} exited with ${code} before listening:\n${text}`));
      }
    });
  });
  return {
    url,
    child,
    output: () => (logFile !== undefined && keepOutput ? readFileSync(logFile, "utf8") : text),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * Ports free on 127.0.0.1 right now, all different. Another process may
 * take one before the caller binds it: callers retry when told it is in
 * use. (PORT=0, "any free port", is refused as a setting: a service on a
 * port nobody chose could not be found by its clients.)
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  // All held open at once, so the system cannot hand out one port twice.
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((s) => {
      const address = s.address();
      return typeof address === "object" && address ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  }
}
