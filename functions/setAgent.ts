import * as v from "valibot";
import type { Context } from "../shared/context.ts";
import { claudeName, plainText } from "../shared/fields.ts";
import { fail, ok, type Result } from "../shared/result.ts";
import { ISO_WITH_ZONE, parseIsoTime } from "../shared/time.ts";
import { validate } from "../shared/validate.ts";

const ISO = "must be an ISO-8601 time with an offset, e.g. 2026-12-10T18:00:00Z, or null to clear it";

// Strict: a misspelt setting ("wieght") must not pass as a change that did nothing.
const setAgentSchema = v.strictObject({
  claude_name: claudeName,
  weight: v.optional(
    v.pipe(
      v.number("must be a number greater than 0"),
      v.finite("must be a finite number greater than 0"),
      v.gtValue(0, "must be greater than 0 (an agent that should not work autonomously is paused instead)"),
      v.maxValue(1000, "must be at most 1000"),
    ),
  ),
  paused_until: v.optional(v.nullable(v.pipe(v.string(ISO), v.regex(ISO_WITH_ZONE, ISO), v.check((s) => parseIsoTime(s) !== undefined, "is not a real time")))),
  note: v.optional(v.nullable(v.pipe(plainText, v.maxLength(500, "must be at most 500 characters")))),
  register: v.optional(v.boolean("must be true or false")),
});

export interface AgentSettings {
  claude_name: string;
  weight: number;
  paused_until: string | null;
  note: string | null;
  active: boolean;
  /** True when this call added the agent. */
  registered: boolean;
}

/**
 * Sets an agent's weight (its fair share relative to the others, default 1),
 * pauses its autonomous work until a time (null resumes it), or notes why.
 * Fields left out stay as they are. An agent that never reported is refused
 * unless "register": true.
 * @example tsx runner invoke setAgent '{"claude_name":"Sparkle-Orange","weight":2,"paused_until":"2026-12-10T18:00:00Z","note":"release week"}'
 */
export async function setAgent(input: unknown, ctx: Context): Promise<Result<AgentSettings>> {
  const parsed = validate(setAgentSchema, input);
  if (!parsed.ok) return parsed;
  const { claude_name: name, weight, paused_until, note, register } = parsed.value;
  const sets: string[] = [];
  const args: (string | number | null)[] = [];
  if (weight !== undefined) sets.push("weight = ?") && args.push(weight);
  if (paused_until !== undefined) sets.push("paused_until = ?") && args.push(paused_until === null ? null : new Date(parseIsoTime(paused_until)!).toISOString());
  if (note !== undefined) sets.push("note = ?") && args.push(note);
  const tx = await ctx.db.transaction("write");
  try {
    let registered = false;
    const known = await tx.execute({ sql: "SELECT 1 FROM claude_identities WHERE name = ?", args: [name] });
    if (known.rows.length === 0) {
      if (register !== true)
        return fail("not_found", `No agent named "${name}" has reported yet. Check the spelling, or send "register": true to add it before its first report.`);
      await tx.execute({ sql: "INSERT INTO claude_identities (name, active) VALUES (?, 1)", args: [name] });
      registered = true;
    }
    if (sets.length > 0) await tx.execute({ sql: `UPDATE claude_identities SET ${sets.join(", ")} WHERE name = ?`, args: [...args, name] });
    const row = (await tx.execute({ sql: "SELECT weight, paused_until, note, active FROM claude_identities WHERE name = ?", args: [name] })).rows[0]!;
    await tx.commit();
    return ok({
      claude_name: name,
      weight: Number(row.weight),
      paused_until: row.paused_until === null ? null : String(row.paused_until),
      note: row.note === null ? null : String(row.note),
      active: Number(row.active) !== 0,
      registered,
    });
  } finally {
    tx.close();
  }
}
