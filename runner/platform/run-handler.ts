import { handlers, type HandlerName } from "../../functions/index.ts";
import type { Context } from "../../shared/context.ts";
import type { Result } from "../../shared/result.ts";

/** What a handler answers when it succeeds. */
export type HandlerOutput<N extends HandlerName> = Awaited<ReturnType<(typeof handlers)[N]["run"]>> extends Result<infer T> ? T : never;

/**
 * The one path to a capability. The webhook's routes, `runner invoke`, the
 * daily timer and the viewer's pages all call handlers here, so every door
 * gets the same validation and the same failures. A door hands in what only
 * it knows through the context (the webhook: its spool-aware writer and
 * what the request's token and Idempotency-Key say); each has a plain
 * default inside the handler, so the CLI needs none of them.
 */
export function runHandler<N extends HandlerName>(name: N, input: unknown, ctx: Context): Promise<Result<HandlerOutput<N>>> {
  return handlers[name].run(input, ctx) as Promise<Result<HandlerOutput<N>>>;
}
