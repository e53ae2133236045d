import type { Context } from "../../shared/context.ts";
import { fail, ok, type Result } from "../../shared/result.ts";
import { AGENT_ATTRIBUTE, parseExport } from "./otlp.ts";
import { seriesKey, storePoints, type KeyedPoint } from "./store.ts";

/**
 * OTLP's ExportMetricsServiceResponse: `{}` when every point was taken;
 * partialSuccess names how many were not, and why (a client does not send
 * them again). int64 fields are decimal strings in OTLP JSON.
 */
export interface ExportMetricsResponse {
  partialSuccess?: { rejectedDataPoints: string; errorMessage: string };
}

/**
 * Records an OTLP/HTTP JSON metrics export from Claude Code: keeps
 * claude_code.token.usage and claude_code.cost.usage as deltas in
 * telemetry_points, apart from the reports. Each resource names its agent
 * with the attribute resource_share.claude_name; with a token, every
 * resource must name the token's agent (or none: then it is the token's).
 * A bad export stores nothing.
 * @example tsx runner invoke recordMetrics '{"resourceMetrics":[...]}'
 */
export async function recordMetrics(input: unknown, ctx: Context): Promise<Result<ExportMetricsResponse>> {
  const parsed = parseExport(input);
  if (!parsed.ok) return parsed;
  const tokenAgent = ctx.request?.agent;
  const other = tokenAgent === undefined ? undefined : parsed.value.find((p) => p.claudeName !== undefined && p.claudeName !== tokenAgent);
  if (other)
    return fail(
      "unauthorized",
      `the token belongs to ${JSON.stringify(tokenAgent)}, not to ${JSON.stringify(other.claudeName)} (${AGENT_ATTRIBUTE}); nothing was stored. Send each agent's telemetry with its own token.`,
    );
  const attributed = parsed.value.flatMap((p) => {
    const claudeName = p.claudeName ?? tokenAgent;
    return claudeName === undefined ? [] : [{ ...p, claudeName }];
  });
  const unattributed = parsed.value.length - attributed.length;
  // All at once: one digest after another waited for each in turn (a quarter of an export's time).
  const keys = await Promise.all(attributed.map((p) => seriesKey(p.series)));
  const keyed: KeyedPoint[] = attributed.map((p, i) => ({ ...p, seriesKey: keys[i]! }));
  await storePoints(ctx.db, keyed, ctx.config.timeZone, ctx.now().toISOString());
  if (unattributed === 0) return ok({});
  return ok({
    partialSuccess: {
      rejectedDataPoints: String(unattributed),
      errorMessage: `${unattributed} data point(s) were not stored: their resource has no ${AGENT_ATTRIBUTE} attribute, so no agent to count them for. Set OTEL_RESOURCE_ATTRIBUTES=${AGENT_ATTRIBUTE}=NAME in the agent's environment.`,
    },
  });
}
