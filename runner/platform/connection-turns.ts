/**
 * Turns on a file database's one connection. The client for a file has a
 * single connection (its PRAGMAs must hold for every statement), and a
 * transaction keeps it from BEGIN to COMMIT across awaits: any other call
 * made meanwhile (a report's commit while the daily catch-up or an alerts
 * round holds a transaction) would fail at once with TRANSACTION_ACTIVE.
 * Instead each call waits for its turn, in order of arrival, for as long as
 * a writer waits for another process's lock; past that it fails as
 * SQLITE_BUSY, which the webhook answers by spooling.
 */
export interface Turns {
  /** Resolves with the function that ends the turn (safe to call twice). */
  take(): Promise<() => void>;
}

export class TurnTimeoutError extends Error {
  readonly code = "SQLITE_BUSY";
}

export function createTurns(waitMs: number): Turns {
  let held = false;
  const queue: { start(): void }[] = [];
  const next = () => {
    const waiting = queue.shift();
    if (waiting) waiting.start();
    else held = false;
  };
  const ender = () => {
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      next();
    };
  };
  return {
    take() {
      if (!held) {
        held = true;
        return Promise.resolve(ender());
      }
      return new Promise((resolve, reject) => {
        const entry = {
          start: () => {
            clearTimeout(timer);
            resolve(ender());
          },
        };
        const timer = setTimeout(() => {
          queue.splice(queue.indexOf(entry), 1);
          reject(new TurnTimeoutError(`The database connection was held by a transaction in this process for over ${waitMs} ms; try again.`));
        }, waitMs);
        queue.push(entry);
      });
    },
  };
}
