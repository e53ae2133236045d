import type { Context } from "../../shared/context.ts";
import { ok, type Result } from "../../shared/result.ts";
import { familyStateOf } from "../advice/load.ts";
import { windowsNow, type WindowNow } from "../advice/windows.ts";

export interface QuotaOutput {
  /** Each known window that has not reset: its used % now, observed or estimated, and from where. */
  windows: WindowNow[];
}

/**
 * The quota windows as they stand now: the latest reading of each, plus the
 * family's usage since (estimated), or the configured budget where no
 * reading exists.
 * @example tsx runner invoke quota '{}'
 */
export async function quota(_input: unknown, ctx: Context): Promise<Result<QuotaOutput>> {
  const state = await familyStateOf(ctx);
  return ok({ windows: windowsNow(state, ctx.now().getTime()) });
}
