import type { Db } from "../../shared/context.ts";
import type { InStatement, Transaction } from "../../shared/libsql.ts";
import { localDay } from "../../shared/time.ts";
import type { OtlpPoint } from "./otlp.ts";

/** A point ready to store: its agent settled and its series hashed. */
export interface KeyedPoint extends OtlpPoint {
  claudeName: string;
  seriesKey: string;
}

export interface StoreOutcome {
  /** Rows added to telemetry_points. */
  stored: number;
  /** Points already counted (a retried export, or a cumulative point older than the series' last). */
  duplicates: number;
}

interface SeriesState {
  start: bigint | null;
  time: bigint;
  value: number;
}

const KEYS_PER_STATEMENT = 500;
const NS_PER_MS = BigInt(1_000_000);

/** The SHA-256 of a series' canonical text, as hex: the attributes (which may name a person) are not kept. */
export async function seriesKey(series: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(series));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Stores the points as deltas, in one write transaction: a delta point as
 * it is; a cumulative one as the difference from its series' previous
 * point, or whole when the series restarted (its start time changed, or its
 * value went down: the process that counts was restarted) or is new to us.
 * A point whose series and time are already stored, or a cumulative point
 * not newer than its series' last, adds nothing, so a retried export is
 * counted once.
 * Points that add nothing (a delta of 0) are not written.
 */
export async function storePoints(db: Db, points: KeyedPoint[], timeZone: string, receivedAt: string): Promise<StoreOutcome> {
  const outcome: StoreOutcome = { stored: 0, duplicates: 0 };
  if (points.length === 0) return outcome;
  const tx = await db.transaction("write");
  try {
    const cumulative = points.filter((p) => p.temporality === "cumulative").sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const states = await loadSeries(tx, [...new Set(cumulative.map((p) => p.seriesKey))]);
    const changed = new Map<string, KeyedPoint>();
    const rows: { point: KeyedPoint; delta: number }[] = [];
    for (const p of points.filter((p) => p.temporality === "delta")) rows.push({ point: p, delta: p.value });
    for (const p of cumulative) {
      const last = states.get(p.seriesKey);
      // Not newer than the series' last point: counted already (a retry),
      // even when its start time differs: an export retried from before a
      // restart must not be taken for another restart.
      if (last !== undefined && p.time <= last.time) {
        outcome.duplicates++;
        continue;
      }
      const restarted = last === undefined || last.start !== p.start || p.value < last.value;
      const delta = restarted ? p.value : p.value - last.value;
      states.set(p.seriesKey, { start: p.start, time: p.time, value: p.value });
      changed.set(p.seriesKey, p);
      rows.push({ point: p, delta });
    }
    const inserts: InStatement[] = rows
      .filter((r) => r.delta > 0)
      .map(({ point: p, delta }) => {
        const ms = Number(p.time / NS_PER_MS);
        return {
          sql: `INSERT INTO telemetry_points (claude_name, time, time_ms, date, metric, type, model, value, series_key, time_unix_nano, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_key, time_unix_nano) DO NOTHING`,
          args: [p.claudeName, new Date(ms).toISOString(), ms, localDay(ms, timeZone), p.metric, p.type, p.model, delta, p.seriesKey, String(p.time), receivedAt],
        };
      });
    const updates: InStatement[] = [...changed.values()].map((p) => {
      const s = states.get(p.seriesKey)!;
      return {
        sql: `INSERT INTO telemetry_series (series_key, claude_name, metric, start_time_unix_nano, last_time_unix_nano, last_value, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_key) DO UPDATE SET start_time_unix_nano = excluded.start_time_unix_nano,
          last_time_unix_nano = excluded.last_time_unix_nano, last_value = excluded.last_value, updated_at = excluded.updated_at`,
        args: [p.seriesKey, p.claudeName, p.metric, s.start === null ? null : String(s.start), String(s.time), s.value, receivedAt],
      };
    });
    const results = inserts.length + updates.length > 0 ? await tx.batch([...inserts, ...updates]) : [];
    const written = results.slice(0, inserts.length).reduce((n, r) => n + r.rowsAffected, 0);
    outcome.stored = written;
    // A delta point already stored (same series and time) was ignored by its INSERT.
    outcome.duplicates += inserts.length - written;
    await tx.commit();
    return outcome;
  } finally {
    tx.close();
  }
}

async function loadSeries(tx: Transaction, keys: string[]): Promise<Map<string, SeriesState>> {
  const states = new Map<string, SeriesState>();
  for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
    const chunk = keys.slice(i, i + KEYS_PER_STATEMENT);
    const rs = await tx.execute({
      sql: `SELECT series_key, start_time_unix_nano, last_time_unix_nano, last_value FROM telemetry_series WHERE series_key IN (${chunk.map(() => "?").join(", ")})`,
      args: chunk,
    });
    for (const r of rs.rows)
      states.set(String(r.series_key), {
        start: r.start_time_unix_nano === null ? null : BigInt(String(r.start_time_unix_nano)),
        time: BigInt(String(r.last_time_unix_nano)),
        value: Number(r.last_value),
      });
  }
  return states;
}
