import type { Db } from "../../shared/context.ts";
import type { AlertRule } from "../../shared/alert-settings.ts";
import type { Condition, Evaluation } from "./rules.ts";

/** One change told to the receivers. */
export interface AlertChange {
  event: "firing" | "reminder" | "resolved";
  rule: AlertRule;
  subject: string;
  summary: string;
}

interface FiringRow {
  id: number;
  rule: AlertRule;
  subject: string;
  summary: string;
  level: number;
  period: string;
  lastNotified: number;
}

/**
 * Brings the alerts table in line with what holds now, in one transaction
 * with the outbox rows that tell each change to each receiver: either both
 * are committed or neither, so a process killed after deciding still
 * delivers after its restart, and one killed before decides again.
 *
 * - a condition with no firing row: a new episode (firing);
 * - a firing row whose condition no longer holds (for a rule evaluated): resolved;
 * - a new period (a window reset): the old episode resolved, a new one firing;
 * - a higher level in the same episode (a window past its next threshold): told again as firing;
 * - a firing row told nothing for remindSeconds: a reminder.
 */
export async function record(db: Db, evaluation: Evaluation, now: number, remindSeconds: number, receivers: string[]): Promise<AlertChange[]> {
  const at = new Date(now).toISOString();
  const tx = await db.transaction("write");
  try {
    const rs = await tx.execute("SELECT id, rule, subject, summary, level, period, last_notified FROM alerts WHERE state = 'firing'");
    const firing = new Map<string, FiringRow>();
    for (const r of rs.rows)
      firing.set(`${r.rule}\u0000${r.subject}`, {
        id: Number(r.id),
        rule: String(r.rule) as AlertRule,
        subject: String(r.subject),
        summary: String(r.summary),
        level: Number(r.level),
        period: String(r.period),
        lastNotified: r.last_notified === null ? 0 : Date.parse(String(r.last_notified)),
      });
    const changes: AlertChange[] = [];
    const tell = async (id: number, change: AlertChange) => {
      changes.push(change);
      for (const receiver of receivers)
        await tx.execute({
          sql: "INSERT INTO alert_outbox (alert_id, event, receiver, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
          args: [id, change.event, receiver, at, at],
        });
      await tx.execute({ sql: "UPDATE alerts SET last_notified = ? WHERE id = ?", args: [at, id] });
    };
    const resolve = async (row: FiringRow, summary: string) => {
      await tx.execute({ sql: "UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ?", args: [at, row.id] });
      await tell(row.id, { event: "resolved", rule: row.rule, subject: row.subject, summary });
    };
    const open = async (c: Condition) => {
      const inserted = await tx.execute({
        sql: "INSERT INTO alerts (rule, subject, state, since, summary, details, level, period) VALUES (?, ?, 'firing', ?, ?, ?, ?, ?) RETURNING id",
        args: [c.rule, c.subject, at, c.summary, JSON.stringify(c.details), c.level ?? 0, c.period ?? ""],
      });
      await tell(Number(inserted.rows[0]!.id), { event: "firing", rule: c.rule, subject: c.subject, summary: c.summary });
    };

    for (const [rule, conditions] of evaluation) {
      const holding = new Set<string>();
      for (const c of conditions) {
        const key = `${c.rule}\u0000${c.subject}`;
        holding.add(key);
        const row = firing.get(key);
        if (!row) await open(c);
        else if ((c.period ?? "") !== row.period) {
          await resolve(row, `${row.summary} (a new period began)`);
          await open(c);
        } else {
          // Still firing: keep what it says current, for the page and a reminder.
          await tx.execute({ sql: "UPDATE alerts SET summary = ?, details = ?, level = max(level, ?) WHERE id = ?", args: [c.summary, JSON.stringify(c.details), c.level ?? 0, row.id] });
          if ((c.level ?? 0) > row.level) await tell(row.id, { event: "firing", rule: c.rule, subject: c.subject, summary: c.summary });
          else if (remindSeconds > 0 && now - row.lastNotified >= remindSeconds * 1000) await tell(row.id, { event: "reminder", rule: c.rule, subject: c.subject, summary: c.summary });
        }
      }
      for (const [key, row] of firing) if (row.rule === rule && !holding.has(key)) await resolve(row, `resolved: ${row.summary}`);
    }
    await tx.commit();
    return changes;
  } finally {
    tx.close();
  }
}
