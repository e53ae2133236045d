/**
 * OTLP/HTTP JSON export bodies, built by the OTLP JSON mapping rather than
 * copied from a capture: lowerCamelCase fields, 64-bit integers as decimal
 * strings (or numbers, when `ints: "number"`), enums as integers, trace and
 * span ids as hex, and the fields a receiver must ignore (exemplars,
 * schemaUrl, unit, isMonotonic, ...). Shaped as Claude Code sends them:
 * per-point attributes session.id, user.email, model, and type for tokens.
 */

export type Ints = "string" | "number";
export type AttrValue = string | number | boolean;

/** Nanoseconds since 1970 for a time given in ms. */
export const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

const int = (x: bigint | number, ints: Ints) => (ints === "string" ? String(x) : Number(x));

export function anyValue(value: AttrValue, ints: Ints = "string"): Record<string, unknown> {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  return Number.isInteger(value) ? { intValue: int(value, ints) } : { doubleValue: value };
}

export const attributes = (attrs: Record<string, AttrValue>, ints: Ints = "string") =>
  Object.entries(attrs).map(([key, value]) => ({ key, value: anyValue(value, ints) }));

export interface PointSpec {
  time: bigint;
  start?: bigint;
  value: number;
  /** asInt (the default for whole values) or asDouble. */
  as?: "int" | "double";
  attrs?: Record<string, AttrValue>;
}

/** 1 = delta, 2 = cumulative (AggregationTemporality). */
export type Temporality = 1 | 2;

function point(p: PointSpec, ints: Ints): Record<string, unknown> {
  const as = p.as ?? (Number.isInteger(p.value) ? "int" : "double");
  return {
    attributes: attributes({ "session.id": "5f1c9a2e-0000-4000-8000-000000000001", "user.email": "human@example.org", ...p.attrs }, ints),
    ...(p.start !== undefined ? { startTimeUnixNano: int(p.start, ints) } : {}),
    timeUnixNano: int(p.time, ints),
    ...(as === "int" ? { asInt: int(p.value, ints) } : { asDouble: p.value }),
    // Unknown to this receiver, or known and ignored: must change nothing.
    exemplars: [{ timeUnixNano: int(p.time, ints), asDouble: p.value, traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174" }],
    flags: 0,
  };
}

/** A claude_code.token.usage sum: each point's `type` (input, output, cacheRead, cacheCreation) and `model` attributes set. */
export function tokenMetric(temporality: Temporality, points: (PointSpec & { type: string; model?: string })[], ints: Ints = "string") {
  return {
    name: "claude_code.token.usage",
    description: "Number of tokens used",
    unit: "tokens",
    sum: {
      aggregationTemporality: temporality,
      isMonotonic: true,
      dataPoints: points.map((p) => point({ ...p, attrs: { type: p.type, model: p.model ?? "claude-sonnet-4-5", ...p.attrs } }, ints)),
    },
  };
}

/** A claude_code.cost.usage sum in USD. */
export function costMetric(temporality: Temporality, points: (PointSpec & { model?: string })[], ints: Ints = "string") {
  return {
    name: "claude_code.cost.usage",
    unit: "USD",
    sum: {
      aggregationTemporality: temporality,
      isMonotonic: true,
      dataPoints: points.map((p) => point({ ...p, as: "double", attrs: { model: p.model ?? "claude-sonnet-4-5", ...p.attrs } }, ints)),
    },
  };
}

/** A metric Claude Code also sends, which is not kept. */
export function sessionCountMetric(time: bigint) {
  return { name: "claude_code.session.count", sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: String(time), asInt: "1" }] } };
}

/**
 * An ExportMetricsServiceRequest: one resource naming `agent` (undefined:
 * no resource_share.claude_name attribute), one scope with `metrics`.
 */
export function otlpExport(agent: string | undefined, metrics: unknown[], { ints = "string" as Ints, resource = {} as Record<string, AttrValue> } = {}) {
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: attributes(
            { "service.name": "claude-code", "service.version": "2.0.14", ...(agent !== undefined ? { "resource_share.claude_name": agent } : {}), ...resource },
            ints,
          ),
          droppedAttributesCount: 0,
        },
        scopeMetrics: [{ scope: { name: "com.anthropic.claude_code", version: "2.0.14" }, metrics, schemaUrl: "" }],
        schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
      },
    ],
  };
}
