import type { Db } from "./libsql.ts";
import type { AdviceSettings } from "./advice-settings.ts";
import type { AlertSettings } from "./alert-settings.ts";

export type { Db };

/** Settings a handler may depend on; read from the environment by the runner only. */
export interface HandlerConfig {
  /** IANA zone whose calendar days are "days", e.g. "Europe/London". */
  timeZone: string;
  /** How far back a client-sent `timestamp` may lie, in days. */
  replayWindowDays: number;
  /** The fair-share advice's settings; DEFAULT_ADVICE when absent. */
  advice?: AdviceSettings;
  /** TELEMETRY_MARGIN_PERCENT: DEFAULT_TELEMETRY_MARGIN_PERCENT (shared/config.ts) when absent. */
  telemetryMarginPercent?: number;
  /** The alerts' rules and receivers; DEFAULT_ALERTS when absent. */
  alerts?: AlertSettings;
}

/**
 * What a door learned from a request that a handler acts on. The CLI and
 * the timers have none of it.
 */
export interface RequestFacts {
  /** The agent the request's token names; undefined when it carried none (and none was needed). */
  agent?: string;
  /** The Idempotency-Key header: stands for `event_id` when the report has none. */
  idempotencyKey?: string;
}

export interface Context {
  db: Db;
  /** The clock, injected so tests and replays can fix it. */
  now: () => Date;
  config: HandlerConfig;
  /**
   * Where a long-running handler tells a person how far it got (the CLI
   * wires it to stderr). Optional: handlers work without it.
   */
  progress?: (message: string) => void;
  request?: RequestFacts;
}

/** A handler: plain input in, a plain result out. */
export type Handler<T> = (input: unknown, ctx: Context) => Promise<import("./result.ts").Result<T>>;
