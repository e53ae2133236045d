import { homedir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { claudeName } from "../../shared/fields.ts";
import type { Mode } from "./mode.ts";

export interface ReporterSettings {
  agent: string;
  url: string;
  token: string | undefined;
  dirs: string[];
  /** The agent's own folder: state, queue, refused reports, lock. */
  folder: string;
  once: boolean;
  everySeconds: number;
  mode: Mode | undefined;
  session: string;
  tmuxSocket: string | undefined;
  showAdvice: boolean;
  /** Messages older than this are not reported: the webhook refuses them beyond its replay window (RESOURCE_SHARE_REPLAY_DAYS, 30). */
  maxAgeDays: number;
}

export const REPORT_USAGE = `Usage: tsx runner report [--once] [--every SECONDS] [--dir PATH]... [--mode autonomy|collaboration]
                         [--session NAME] [--tmux-socket NAME] [--show-advice] [--max-age-days DAYS]

Reads Claude Code's transcripts and posts each assistant message's tokens, once, to the webhook.
  --once            one pass, then exit (0: all delivered; 2: some wait in the queue for the webhook)
  --every SECONDS   seconds between passes when running on (default 30, 1 to 3600)
  --dir PATH        read *.jsonl under PATH (repeatable); default: CLAUDE_CONFIG_DIR's projects/
                    (comma-separated list), else ~/.config/claude/projects and ~/.claude/projects
  --mode MODE       autonomy or collaboration, for setups without tmux; default: collaboration
                    while a tmux client is attached to the agent's session
  --session NAME    the agent's tmux session (default: CLAUDE_NAME)
  --tmux-socket N   the tmux server's socket name (tmux -L N); default: tmux's own
  --show-advice     print the advice of the webhook's replies (recommended_interval, reasons)
  --max-age-days N  skip messages older than N days (default 30: the webhook's replay window)
Environment: CLAUDE_NAME (required), RESOURCE_SHARE_URL (default http://127.0.0.1:8765),
  RESOURCE_SHARE_TOKEN (the agent's token, when the webhook wants one), XDG_STATE_HOME.
`;

const count = (flag: string, min: number, max: number) => (text: string | undefined) => {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < min || n > max) throw new Error(`${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text ?? "")})`);
  return n;
};

/**
 * The reporter's settings from its arguments and the environment (passed
 * in: runner/platform/environment.ts is the one place that reads it).
 * Throws an Error naming the option or variable at fault.
 */
export function reporterSettings(args: string[], env: Record<string, string | undefined>): ReporterSettings {
  const named = v.safeParse(claudeName, env.CLAUDE_NAME ?? "");
  if (!named.success) throw new Error(`CLAUDE_NAME ${named.issues[0].message}: set it to the agent's name, e.g. CLAUDE_NAME=Sparkle-Orange`);
  const agent = named.output;
  const url = (env.RESOURCE_SHARE_URL || "http://127.0.0.1:8765").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(url) || !URL.canParse(url)) throw new Error(`RESOURCE_SHARE_URL must be an http(s) URL such as http://127.0.0.1:8765 (got ${JSON.stringify(url)})`);
  const home = env.HOME || homedir();
  const s: ReporterSettings = {
    agent,
    url,
    token: env.RESOURCE_SHARE_TOKEN || undefined,
    dirs: [],
    folder: join(env.XDG_STATE_HOME || join(home, ".local", "state"), "resource-share", "reporter", encodeURIComponent(agent)),
    once: false,
    everySeconds: 30,
    mode: undefined,
    session: agent,
    tmuxSocket: undefined,
    showAdvice: false,
    maxAgeDays: 30,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--once") s.once = true;
    else if (arg === "--every") s.everySeconds = count("--every", 1, 3600)(value());
    else if (arg === "--dir") s.dirs.push(value());
    else if (arg === "--mode") {
      const m = value();
      if (m !== "autonomy" && m !== "collaboration") throw new Error(`--mode must be autonomy or collaboration (got ${JSON.stringify(m)})`);
      s.mode = m;
    } else if (arg === "--session") s.session = value();
    else if (arg === "--tmux-socket") s.tmuxSocket = value();
    else if (arg === "--show-advice") s.showAdvice = true;
    else if (arg === "--max-age-days") s.maxAgeDays = count("--max-age-days", 1, 3650)(value());
    else throw new Error(`unknown option ${JSON.stringify(arg)}`);
  }
  if (s.dirs.length === 0) {
    const configured = (env.CLAUDE_CONFIG_DIR ?? "").split(",").map((d) => d.trim()).filter((d) => d !== "");
    s.dirs = configured.length > 0 ? configured.map((d) => join(d, "projects")) : [join(home, ".config", "claude", "projects"), join(home, ".claude", "projects")];
  }
  return s;
}
