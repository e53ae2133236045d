/**
 * Agents' timers as they behave in the field: post once, give up after
 * 5 seconds, never retry. Each report carries a distinct token count so it
 * can be found in the table with or without an event id.
 */

export interface Posted {
  /** The reports sent in this request (one, or a batch). */
  reports: Record<string, unknown>[];
  status: number | "timeout" | "error";
  ms: number;
  body: any;
}

let next = 1;
/** A fresh, valid report whose cache_read_increment is unique in this process. */
export function report(agent: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { claude_name: agent, cache_read_increment: next++, mode: next % 2 ? "autonomy" : "collaboration", ...extra };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Posted> {
  const reports = (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // kept as text: the test shows it
    }
    return { reports, status: res.status, ms: performance.now() - started, body: parsed };
  } catch (err) {
    const status = (err as Error).name === "TimeoutError" ? "timeout" : "error";
    return { reports, status, ms: performance.now() - started, body: String(err) };
  }
}

/**
 * `clients` timers posting one after another until `until()` says stop;
 * every `batchEvery`-th request is a batch of three. Returns every attempt.
 */
export async function postUntil(
  base: string,
  { clients, until, agent = "Lock-Test", batchEvery = 5, pauseMs = 50, eventIds = true, all = [] }: {
    clients: number;
    until: () => boolean;
    agent?: string;
    batchEvery?: number;
    pauseMs?: number;
    eventIds?: boolean;
    /** Filled as answers come in, for a test that acts on progress. */
    all?: Posted[];
  },
): Promise<Posted[]> {
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (!until()) {
        n++;
        // Half the reports carry an event id, half do not (the first-generation clients send none).
        const one = () => report(`${agent}-${client}`, eventIds && n % 2 === 0 ? { event_id: `ev-${client}-${n}-${Math.random()}` } : {});
        const attempt =
          n % batchEvery === 0
            ? await post(`${base}/resource-share/increments`, [one(), one(), one()])
            : await post(`${base}/resource-share/increment`, one());
        all.push(attempt);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    }),
  );
  return all;
}

export const acknowledged = (attempts: Posted[]) => attempts.filter((a) => a.status === 200).flatMap((a) => a.reports);

/** Waits until `attempts` holds at least `count` acknowledged reports (bounded by `timeoutMs`). */
export async function untilAcknowledged(attempts: Posted[], count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (acknowledged(attempts).length < count) {
    if (Date.now() > deadline) throw new Error(`only ${acknowledged(attempts).length} of ${count} reports acknowledged within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
