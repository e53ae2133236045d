import { emptyLedger } from "../../functions/advice/ledger.ts";
import { loadFamilyState } from "../../functions/advice/load.ts";
import type { FamilyState } from "../../functions/advice/state.ts";
import { DEFAULT_ADVICE } from "../../shared/advice-settings.ts";
import type { Db, HandlerConfig } from "../../shared/context.ts";
import type { Logger } from "../platform/log.ts";

export interface FamilyStateCache {
  /** The state in memory; loads it on first use. Never waits for a refresh once one is loaded. */
  get(): Promise<FamilyState>;
  /** The state with every commit of this process in it and at most a second old: for reads a person makes (advice, quota, health). */
  fresh(): Promise<FamilyState>;
  /** This process committed reports: refresh soon, so the advice sees them. */
  committed(): void;
}

/** How old the state may get while nothing is written here (other processes write too: the CLI, a scraper). */
const MAX_AGE_MS = 5000;
/** A read a person makes (advice, quota, health) sees this process's commits, and a state at most this old. */
const FRESH_MS = 1000;

/**
 * The family's state kept in memory for the webhook, so that advising a
 * report costs arithmetic, not queries: loaded on first use, refreshed in
 * the background every few seconds (reads a person makes wait for one that
 * includes the webhook's own commits), one refresh at a time, each reading only the reports stored
 * since the last (functions/advice/ledger.ts). A failed load keeps the last state (an
 * empty one before the first success): a report is stored and answered 200
 * even while its advice cannot be brought up to date.
 */
export function familyStateCache(db: Db, config: HandlerConfig, log: Logger, now: () => Date = () => new Date()): FamilyStateCache {
  let state: FamilyState | undefined;
  let loadedWall = 0;
  let dirty = false;
  let loading: Promise<void> | undefined;
  let failing = false;
  // The family's usage, brought up to date at each refresh with the reports stored since (by any process).
  const ledger = emptyLedger();

  function refresh(): Promise<void> {
    loading ??= loadFamilyState(db, now().getTime(), config, ledger)
      .then((s) => {
        state = s;
        if (failing) log.info("the fair-share advice is up to date again");
        failing = false;
      })
      .catch((err: unknown) => {
        if (!failing) log.warn(`cannot load the family's usage for the fair-share advice (${(err as Error).message}); answering with the last known state until the database answers`);
        failing = true;
        state ??= emptyState(config, now().getTime());
      })
      .finally(() => {
        loadedWall = Date.now();
        loading = undefined;
      });
    return loading;
  }

  return {
    async get() {
      if (state === undefined) await refresh();
      const age = Date.now() - loadedWall;
      // A report's advice may be a few seconds behind: its interval is minutes
      // long. Refreshing after every commit cost a busy webhook a few percent.
      if (age > MAX_AGE_MS) {
        dirty = false;
        void refresh();
      }
      return state!;
    },
    async fresh() {
      if (loading) await loading;
      if (state === undefined || dirty || Date.now() - loadedWall > FRESH_MS) {
        dirty = false;
        await refresh();
      }
      return state!;
    },
    committed() {
      dirty = true;
    },
  };
}

/** No agents and no windows known: every agent gets the base interval. */
export function emptyState(config: HandlerConfig, at: number): FamilyState {
  return { loadedAt: at, settings: config.advice ?? DEFAULT_ADVICE, agents: [], windows: [], humanTokensPerWorkingSecond: 0 };
}
