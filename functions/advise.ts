import * as v from "valibot";
import type { Context } from "../shared/context.ts";
import { claudeName } from "../shared/fields.ts";
import { fail, ok, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";
import { familyStateOf } from "./advice/load.ts";
import { advise as policy, type Advice } from "./advice/policy.ts";

const adviseSchema = v.object({ claude_name: claudeName });

export type AdviseOutput = Advice & { claude_name: string };

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
  if (!state.agents.some((a) => a.name === name))
    return fail("not_found", `No agent named "${name}" has reported yet; advice is for agents the service knows (see GET /resource/summary).`);
  return ok({ claude_name: name, ...policy(state, name, ctx.now().getTime()) });
}
