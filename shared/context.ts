import type { Client } from "@libsql/client";

/**
 * The part of a libSQL client a handler may use. Handlers never create a
 * client: on an edge runtime one arrives with each call.
 */
export type Db = Pick<Client, "execute" | "batch" | "transaction" | "protocol">;

/** Settings a handler may depend on; read from the environment by the runner only. */
export interface HandlerConfig {
  /** IANA zone whose calendar days are "days", e.g. "Europe/London". */
  timeZone: string;
  /** How far back a client-sent `timestamp` may lie, in days. */
  replayWindowDays: number;
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
}

/** A handler: plain input in, a plain result out. */
export type Handler<T> = (input: unknown, ctx: Context) => Promise<import("./result.ts").Result<T>>;
