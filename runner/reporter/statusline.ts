import { reporterSettings } from "./settings.ts";

/**
 * `tsx runner statusline`: Claude Code's statusLine command. Reads the
 * statusLine JSON on stdin and prints one short line: the agent's tokens
 * today, the subscription's windows, the advice. Forwards `rate_limits` to
 * POST /resource-share/quota where the webhook offers it (a 404 means it
 * does not yet). It must never break or hold up the status line: every
 * request shares one deadline, every failure shows as a word in the line,
 * and it always exits 0.
 */
const DEADLINE_MS = 100; // --timeout-ms changes it, e.g. for a webhook on another machine
// stdin from Claude Code is small and closed at once; from a terminal it never closes.
const STDIN_MS = 50;
const MAX_STDIN = 256 * 1024;

interface Window {
  used_percentage?: unknown;
  resets_at?: unknown;
}

export async function statuslineCommand(args: string[], env: Record<string, string | undefined>): Promise<never> {
  let line: string;
  try {
    line = await statusline(args, env);
  } catch (err) {
    line = `resource-share: ${(err as Error).message}`;
  }
  process.stdout.write(`${line}\n`);
  // Done: an aborted request to a webhook that never answers must not keep the process alive
  // (stdout to a pipe or a file is written synchronously, so nothing is cut short).
  process.exit(0);
}

async function statusline(args: string[], env: Record<string, string | undefined>): Promise<string> {
  const started = Date.now();
  let deadlineMs = DEADLINE_MS;
  const at = args.indexOf("--timeout-ms");
  if (at !== -1) {
    deadlineMs = Number(args[at + 1]);
    if (!/^\d+$/.test(args[at + 1] ?? "") || deadlineMs < 1 || deadlineMs > 10_000) throw new Error(`--timeout-ms must be a whole number of milliseconds from 1 to 10000 (got ${JSON.stringify(args[at + 1] ?? "")})`);
    args = [...args.slice(0, at), ...args.slice(at + 2)];
  }
  const s = reporterSettings(args, env);
  const input = await readStdin();
  const limits = rateLimits(input);
  const deadline = AbortSignal.timeout(Math.max(1, deadlineMs - (Date.now() - started)));
  const headers: Record<string, string> = s.token ? { authorization: `Bearer ${s.token}` } : {};
  const name = encodeURIComponent(s.agent);
  const get = (path: string) =>
    fetch(`${s.url}${path}`, { headers, signal: deadline }).then(async (r) => (r.status === 200 ? ((await r.json()) as any) : undefined));
  const observations = Object.entries(limits).map(([window, w]) => ({ window, used_percentage: w.used_percentage, resets_at: w.resets_at }));
  const [today, advice] = await Promise.allSettled([
    get(`/resource/today/${name}`),
    get(`/resource/advice/${name}`),
    observations.length === 0
      ? Promise.resolve()
      : fetch(`${s.url}/resource-share/quota`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify(observations),
          signal: deadline,
        }).then((r) => r.body?.cancel()),
  ]);
  const parts: string[] = [s.agent];
  if (today.status === "fulfilled" && today.value) {
    const t = today.value;
    parts.push(`today ${tokens(Number(t.total_tokens ?? 0))} tok${Number(t.total_cost) > 0 ? ` $${Number(t.total_cost).toFixed(2)}` : ""}`);
  } else parts.push("today ? (webhook unreachable)");
  for (const [window, w] of Object.entries(limits)) parts.push(`${WINDOW_NAMES[window] ?? window} ${Math.round(Number(w.used_percentage))}%${resets(w.resets_at)}`);
  if (advice.status === "fulfilled" && advice.value) {
    const a = advice.value;
    const every = Number(a.recommended_interval);
    if (Number.isFinite(every) && every > 0) parts.push(`next in ${Math.round(every / 60)} min${a.quota_status ? ` (${a.quota_status})` : ""}`);
  }
  return parts.join(" · ");
}

const WINDOW_NAMES: Record<string, string> = { five_hour: "5h", seven_day: "7d" };

function rateLimits(input: any): Record<string, Window> {
  const r = input?.rate_limits;
  if (!r || typeof r !== "object") return {};
  return Object.fromEntries(
    Object.entries(r as Record<string, Window>).filter(([, w]) => w && typeof w === "object" && Number.isFinite(Number(w.used_percentage))),
  );
}

function tokens(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function resets(at: unknown): string {
  const ms = typeof at === "number" ? at * 1000 : typeof at === "string" ? Date.parse(at) : Number.NaN;
  if (!Number.isFinite(ms)) return "";
  const left = ms - Date.now();
  if (left <= 0) return "";
  const h = Math.floor(left / 3_600_000);
  return h >= 24 ? ` (resets in ${Math.floor(h / 24)}d${h % 24}h)` : ` (resets in ${h}h${String(Math.floor((left % 3_600_000) / 60_000)).padStart(2, "0")})`;
}

function readStdin(): Promise<unknown> {
  if (process.stdin.isTTY) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let text = "";
    const done = () => {
      clearTimeout(timer);
      process.stdin.pause();
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve(undefined);
      }
    };
    const timer = setTimeout(done, STDIN_MS);
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (d: string) => {
      text += d;
      if (text.length > MAX_STDIN) done();
    });
    process.stdin.on("end", done);
    process.stdin.on("error", done);
  });
}
