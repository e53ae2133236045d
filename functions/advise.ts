import * as v from "valibot";
import type { Context } from "../shared/context.ts";
import { claudeName } from "../shared/fields.ts";
import { ok, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";
import { familyStateOf } from "./advice/load.ts";
import { advise as policy, type Advice } from "./advice/policy.ts";

export const adviseSchema = v.object({ claude_name: claudeName });

export type AdviseOutput = Advice & {
  claude_name: string;
  /** False for a name that never reported: the advice its first report would get. */
  known: boolean;
};

/**
 * The fair-share advice for one agent now: its recommended interval, the
 * factors behind it with their reasons, and the quota windows.
 * @example tsx runner invoke advise '{"claude_name":"Sparkle-Orange"}'
 */
export async function advise(input: unknown, ctx: Context): Promise<Result<AdviseOutput>> {
  const parsed = validate(adviseSchema, input);
  if (!parsed.ok) return parsed;
  const name = parsed.value.claude_name;
  const state = await familyStateOf(ctx);
  const known = state.agents.some((a) => a.name === name);
  const advice = policy(state, name, ctx.now().getTime());
  // A misspelt name must not pass for an agent's advice unremarked.
  if (!known) advice.advice.reasons.unshift(`no agent named "${name}" has reported yet: this is the advice its first report would get`);
  return ok({ claude_name: name, known, ...advice });
}
