import type { Client } from "@libsql/client";
import type { AdviceSettings } from "./advice-settings.ts";
import type { FamilyState } from "../functions/advice/state.ts";

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
  /** The fair-share advice's settings; DEFAULT_ADVICE when absent. */
  advice?: AdviceSettings;
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
  /**
   * The family's state the advice is computed from. The webhook keeps one
   * in memory, refreshed every few seconds, so that a report costs no
   * queries; without it a handler loads it from the database.
   */
  familyState?: () => Promise<FamilyState>;
}

/** A handler: plain input in, a plain result out. */
export type Handler<T> = (input: unknown, ctx: Context) => Promise<import("./result.ts").Result<T>>;
