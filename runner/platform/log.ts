import type { LogLevel } from "../../shared/config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Write what is buffered now (before exit). */
  flush(): void;
}

/**
 * Plain lines on stdout, which journald keeps: `LEVEL message`. systemd adds
 * the time; run by hand, the line starts with an ISO time. Lines are buffered
 * and written once per turn of the event loop: one write per burst of
 * requests instead of one per request.
 */
export function createLogger(
  level: LogLevel,
  { withTime = true, out = process.stdout }: { withTime?: boolean; out?: NodeJS.WritableStream } = {},
): Logger {
  let buffer: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buffer.length === 0) return;
    const text = buffer.join("");
    buffer = [];
    out.write(text);
  };
  const line = (lvl: LogLevel) => (message: string) => {
    if (RANK[lvl] < RANK[level]) return;
    buffer.push(`${withTime ? `${new Date().toISOString()} ` : ""}${lvl.toUpperCase()} ${message}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error"), flush };
}
