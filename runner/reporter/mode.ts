import { execFile } from "node:child_process";

export type Mode = "autonomy" | "collaboration";

export interface ModeDecision {
  mode: Mode;
  /** Why, in a few words, for the pass's summary line. */
  why: string;
}

/**
 * A person is there when at least one tmux client is attached to the
 * agent's session (two or more is still one collaboration). When tmux
 * cannot tell (not installed, no server, no such session) the agent is
 * counted as autonomous and the reason says so; `--mode` overrides.
 */
export function modeFromTmux(session: string, socket: string | undefined): Promise<ModeDecision> {
  const args = [...(socket ? ["-L", socket] : []), "list-clients", "-t", session, "-F", "#{client_name}"];
  return new Promise((resolve) => {
    execFile("tmux", args, { timeout: 3000 }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "tmux is not installed" : String(stderr).trim() || err.message;
        resolve({ mode: "autonomy", why: `tmux could not tell (${why}): counted as autonomy; set --mode if that is wrong` });
        return;
      }
      const clients = stdout.split("\n").filter((l) => l.trim() !== "").length;
      resolve(
        clients > 0
          ? { mode: "collaboration", why: `${clients} client${clients === 1 ? "" : "s"} attached to tmux session ${session}` }
          : { mode: "autonomy", why: `nobody attached to tmux session ${session}` },
      );
    });
  });
}
