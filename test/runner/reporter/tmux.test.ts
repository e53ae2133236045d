import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { modeFromTmux } from "../../../runner/reporter/mode.ts";

/** A private tmux server (its own socket name), killed when the test ends. */
function privateTmux() {
  const socket = `test-h8-${process.pid}-${Date.now()}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const clients: ChildProcess[] = [];
  onTestFinished(() => {
    for (const c of clients) if (c.exitCode === null) c.kill("SIGKILL");
    try {
      tmux("kill-server");
    } catch {
      // already gone
    }
    // tmux leaves its socket file behind.
    rmSync(join(process.env.TMUX_TMPDIR || tmpdir(), `tmux-${process.getuid!()}`, socket), { force: true });
  });
  /** A real client attached to the session, through a pseudo-terminal made by script(1). */
  const attach = async (session: string) => {
    const before = tmux("list-clients", "-t", session, "-F", "#{client_name}").split("\n").filter(Boolean).length;
    const client = spawn("script", ["-qc", `tmux -L ${socket} attach -t ${session}`, "/dev/null"], { stdio: ["pipe", "ignore", "ignore"], env: { ...process.env, TERM: "xterm" } });
    clients.push(client);
    for (let i = 0; i < 200; i++) {
      if (tmux("list-clients", "-t", session, "-F", "#{client_name}").split("\n").filter(Boolean).length > before) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no client attached to ${session}`);
  };
  return { socket, tmux, attach };
}

describe("the mode from tmux", () => {
  it("is autonomy for a detached session and collaboration while one or more clients are attached", async () => {
    const t = privateTmux();
    t.tmux("new-session", "-d", "-s", "Quiet-Teal", "sleep 600");
    t.tmux("new-session", "-d", "-s", "Sparkle-Orange", "sleep 600");
    expect(await modeFromTmux("Sparkle-Orange", t.socket)).toMatchObject({ mode: "autonomy" });
    await t.attach("Sparkle-Orange");
    expect(await modeFromTmux("Sparkle-Orange", t.socket)).toMatchObject({ mode: "collaboration", why: expect.stringContaining("1 client attached") });
    expect(await modeFromTmux("Quiet-Teal", t.socket)).toMatchObject({ mode: "autonomy" });
    await t.attach("Sparkle-Orange");
    expect(await modeFromTmux("Sparkle-Orange", t.socket)).toMatchObject({ mode: "collaboration", why: expect.stringContaining("2 clients attached") });
  });

  it("is autonomy, saying why, when tmux has no such session or no server runs", async () => {
    const t = privateTmux();
    expect(await modeFromTmux("Sparkle-Orange", t.socket)).toMatchObject({ mode: "autonomy", why: expect.stringContaining("tmux could not tell") });
    t.tmux("new-session", "-d", "-s", "Other", "sleep 600");
    expect(await modeFromTmux("Sparkle-Orange", t.socket)).toMatchObject({ mode: "autonomy", why: expect.stringContaining("Sparkle-Orange") });
  });
});
