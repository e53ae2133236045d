import type { Db } from "../../shared/context.ts";
import type { AlertRule } from "../../shared/alert-settings.ts";
import type { InStatement } from "../../shared/libsql.ts";
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
  details: string;
  level: number;
  period: string;
  lastNotified: number;
}

/** What a round does to the alerts table: episodes to open, rows to update, changes to tell. */
type Step =
  | { kind: "open"; condition: Condition }
  | { kind: "resolve"; row: FiringRow; summary: string }
  | { kind: "update"; row: FiringRow; condition: Condition }
  | { kind: "tell"; id: number; change: AlertChange };

const FIRING = "SELECT id, rule, subject, summary, details, level, period, last_notified FROM alerts WHERE state = 'firing'";

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
 *
 * A round with nothing to change takes no write lock (the webhook shares the database).
 */
export async function record(db: Db, evaluation: Evaluation, now: number, remindSeconds: number, receivers: string[]): Promise<AlertChange[]> {
  if (plan(firingRows((await db.execute(FIRING)).rows), evaluation, now, remindSeconds).length === 0) return [];
  const at = new Date(now).toISOString();
  const tx = await db.transaction("write");
  try {
    // Planned again under the lock: another evaluator may have recorded meanwhile.
    const steps = plan(firingRows((await tx.execute(FIRING)).rows), evaluation, now, remindSeconds);
    const changes: AlertChange[] = [];
    const tell = async (id: number, change: AlertChange) => {
      changes.push(change);
      const stmts: InStatement[] = receivers.map((receiver) => ({
        sql: "INSERT INTO alert_outbox (alert_id, event, receiver, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
        args: [id, change.event, receiver, at, at],
      }));
      stmts.push({ sql: "UPDATE alerts SET last_notified = ? WHERE id = ?", args: [at, id] });
      await tx.batch(stmts);
    };
    for (const step of steps) {
      if (step.kind === "open") {
        const c = step.condition;
        const inserted = await tx.execute({
          sql: "INSERT INTO alerts (rule, subject, state, since, summary, details, level, period) VALUES (?, ?, 'firing', ?, ?, ?, ?, ?) RETURNING id",
          args: [c.rule, c.subject, at, c.summary, JSON.stringify(c.details), c.level ?? 0, c.period ?? ""],
        });
        await tell(Number(inserted.rows[0]!.id), { event: "firing", rule: c.rule, subject: c.subject, summary: c.summary });
      } else if (step.kind === "resolve") {
        await tx.execute({ sql: "UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ?", args: [at, step.row.id] });
        await tell(step.row.id, { event: "resolved", rule: step.row.rule, subject: step.row.subject, summary: step.summary });
      } else if (step.kind === "update") {
        const c = step.condition;
        await tx.execute({ sql: "UPDATE alerts SET summary = ?, details = ?, level = max(level, ?) WHERE id = ?", args: [c.summary, JSON.stringify(c.details), c.level ?? 0, step.row.id] });
      } else await tell(step.id, step.change);
    }
    await tx.commit();
    return changes;
  } finally {
    tx.close();
  }
}

function firingRows(rows: Record<string, unknown>[]): Map<string, FiringRow> {
  const firing = new Map<string, FiringRow>();
  for (const r of rows)
    firing.set(`${r.rule}\u0000${r.subject}`, {
      id: Number(r.id),
      rule: String(r.rule) as AlertRule,
      subject: String(r.subject),
      summary: String(r.summary),
      details: String(r.details),
      level: Number(r.level),
      period: String(r.period),
      lastNotified: r.last_notified === null ? 0 : Date.parse(String(r.last_notified)),
    });
  return firing;
}

function plan(firing: Map<string, FiringRow>, evaluation: Evaluation, now: number, remindSeconds: number): Step[] {
  const steps: Step[] = [];
  for (const [rule, conditions] of evaluation) {
    const holding = new Set<string>();
    for (const c of conditions) {
      const key = `${c.rule}\u0000${c.subject}`;
      holding.add(key);
      const row = firing.get(key);
      if (!row) steps.push({ kind: "open", condition: c });
      else if ((c.period ?? "") !== row.period) {
        steps.push({ kind: "resolve", row, summary: `${row.summary} (a new period began)` }, { kind: "open", condition: c });
      } else {
        // Still firing: keep what it says current, for the page and a reminder (a write only when it changed).
        const escalated = (c.level ?? 0) > row.level;
        if (escalated || c.summary !== row.summary || JSON.stringify(c.details) !== row.details) steps.push({ kind: "update", row, condition: c });
        const change = { rule: c.rule, subject: c.subject, summary: c.summary };
        if (escalated) steps.push({ kind: "tell", id: row.id, change: { event: "firing", ...change } });
        else if (remindSeconds > 0 && now - row.lastNotified >= remindSeconds * 1000) steps.push({ kind: "tell", id: row.id, change: { event: "reminder", ...change } });
      }
    }
    for (const [key, row] of firing) if (row.rule === rule && !holding.has(key)) steps.push({ kind: "resolve", row, summary: `resolved: ${row.summary}` });
  }
  return steps;
}
