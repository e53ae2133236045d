import { handlerConfig, machineZone } from "../../runner/platform/environment.ts";
import { parseConfig } from "../../shared/config.ts";
import type { Context, Db, HandlerConfig } from "../../shared/context.ts";

/** A test's clock: fixed at a Date, an ISO-8601 string or epoch milliseconds, or a function asked each time. */
export type Clock = Date | string | number | (() => Date);

/**
 * What a test sets in a handler's context: the clock, settings as a
 * process reads them from its environment (RESOURCE_SHARE_TZ, ADVICE_*,
 * ...), and any HandlerConfig field, which wins over the settings.
 */
export interface ContextOptions extends Partial<HandlerConfig> {
  /** The real clock when absent: for tests whose days do not matter. */
  now?: Clock;
  env?: Record<string, string>;
}

/**
 * The HandlerConfig the runner builds (handlerConfig over parseConfig), so
 * a test's handler sees the defaults a process gives it, not a hand-picked
 * subset. A test's days are UTC's unless it names a zone (timeZone, or
 * RESOURCE_SHARE_TZ in `env`): not the machine's, which varies.
 */
export function testConfig({ env = {}, ...overrides }: Omit<ContextOptions, "now"> = {}): HandlerConfig {
  const parsed = parseConfig({ RESOURCE_SHARE_TZ: "UTC", ...env }, machineZone);
  if (!parsed.ok) throw new Error(`bad settings for a test's handler context: ${parsed.message}`);
  // An override given as undefined keeps the runner's value: `{ telemetryMarginPercent: margin }` with no margin.
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return { ...handlerConfig(parsed.config), ...given };
}

/** A handler's Context over `db`, at the clock `now`, with testConfig's config. */
export function testContext(db: Db, { now, ...config }: ContextOptions = {}): Context {
  return { db, now: clockOf(now), config: testConfig(config) };
}

function clockOf(now: Clock | undefined): () => Date {
  if (now === undefined) return () => new Date();
  if (typeof now === "function") return now;
  const fixed = new Date(now).getTime();
  if (Number.isNaN(fixed)) throw new Error(`a test's clock must be a valid instant, got ${String(now)}`);
  // A fresh Date each time: a handler that moved one would not move the test's clock.
  return () => new Date(fixed);
}

/**
 * The context `runner invoke` hands a handler (runner/cli/invoke.ts), over
 * `db`, from settings given as the process would get them in its
 * environment: for calling a handler through runHandler, the path `invoke`
 * takes, where a process would add nothing. Without RESOURCE_SHARE_TZ the
 * process takes the machine's zone, so this does too. Progress lines, which
 * the CLI writes to stderr, are collected.
 */
export function invokeContext(db: Db, env: Record<string, string> = {}): Context & { progressLines: string[] } {
  const progressLines: string[] = [];
  return {
    ...testContext(db, { env: { RESOURCE_SHARE_TZ: machineZone(), ...env } }),
    progress: (line) => void progressLines.push(line),
    progressLines,
  };
}
