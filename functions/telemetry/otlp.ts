import * as v from "valibot";
import { claudeName } from "../../shared/fields.ts";
import { invalid, ok, type FieldIssue, type Result } from "../../shared/result.ts";
import { validate } from "../../shared/validate.ts";

/**
 * OTLP/HTTP JSON (ExportMetricsServiceRequest) as Claude Code sends it with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json, read by the OTLP JSON mapping:
 * 64-bit integers as decimal strings or numbers, enums as integers (their
 * names are taken too), field names in lowerCamelCase, unknown fields
 * ignored (every object here is loose), a list or message given as null
 * read as empty. Only the two metrics kept are
 * checked in detail; the others are skipped unread.
 */

/** The resource attribute that names the agent (set with OTEL_RESOURCE_ATTRIBUTES). */
export const AGENT_ATTRIBUTE = "resource_share.claude_name";
export const TOKEN_METRIC = "claude_code.token.usage";
export const COST_METRIC = "claude_code.cost.usage";
const KEPT = new Set([TOKEN_METRIC, COST_METRIC]);

const INT64 = "must be an integer (a JSON number or a decimal string)";
const int64 = v.union([v.pipe(v.string(), v.regex(/^-?\d{1,19}$/, INT64)), v.pipe(v.number(), v.integer(INT64))], INT64);
const UINT64 = "must be a whole number of nanoseconds since 1970 (a JSON number or a decimal string)";
const uint64 = v.union([v.pipe(v.string(), v.regex(/^\d{1,20}$/, UINT64)), v.pipe(v.number(), v.integer(UINT64), v.minValue(0, UINT64))], UINT64);

const anyValue = v.looseObject({
  stringValue: v.optional(v.string("must be a string")),
  boolValue: v.optional(v.boolean("must be true or false")),
  intValue: v.optional(int64),
  doubleValue: v.optional(v.union([v.number(), v.string()], "must be a number")),
  arrayValue: v.optional(v.unknown()),
  kvlistValue: v.optional(v.unknown()),
  bytesValue: v.optional(v.string("must be base64 text")),
});
type AnyValue = v.InferOutput<typeof anyValue>;

const keyValue = v.looseObject({ key: v.string("must be a string"), value: v.optional(anyValue) });
const attributes = v.nullish(v.array(keyValue, "must be an array of {key, value}"), []);
type Attributes = v.InferOutput<typeof keyValue>[];

const metric = v.looseObject({ name: v.string("must be the metric's name") });

/** The outer shape of an OTLP ExportMetricsServiceRequest (the metrics kept are checked further by parseExport). */
export const otlpRequestSchema = v.looseObject(
  {
    resourceMetrics: v.nullish(
      v.array(
        v.looseObject({
          resource: v.nullish(v.looseObject({ attributes }), {}),
          scopeMetrics: v.nullish(
            v.array(
              v.looseObject({
                scope: v.nullish(v.looseObject({ name: v.optional(v.string()), version: v.optional(v.string()), attributes }), {}),
                metrics: v.nullish(v.array(metric, "must be an array of metrics"), []),
              }),
              "must be an array",
            ),
            [],
          ),
        }),
        "must be an array",
      ),
      [],
    ),
  },
  "must be a JSON object (an OTLP ExportMetricsServiceRequest)",
);

const TEMPORALITY: Record<string, "delta" | "cumulative"> = {
  "1": "delta",
  "2": "cumulative",
  AGGREGATION_TEMPORALITY_DELTA: "delta",
  AGGREGATION_TEMPORALITY_CUMULATIVE: "cumulative",
};

const sum = v.looseObject(
  {
    aggregationTemporality: v.pipe(
      v.union([v.number(), v.string()], "is required: 1 (delta) or 2 (cumulative)"),
      v.check((t) => Object.hasOwn(TEMPORALITY, String(t)), "must be 1 (delta) or 2 (cumulative); 0 (unspecified) and other values cannot be counted"),
      v.transform((t) => TEMPORALITY[String(t)]!),
    ),
    dataPoints: v.nullish(
      v.array(
        v.looseObject({
          attributes,
          startTimeUnixNano: v.optional(uint64),
          timeUnixNano: v.pipe(uint64, v.check((t) => BigInt(t) > 0n, "must be set (nanoseconds since 1970)")),
          asDouble: v.optional(
            v.pipe(
              v.union([v.number(), v.string()], "must be a number"),
              v.transform(Number),
              v.check((n: number) => Number.isFinite(n), "must be a finite number"),
              v.minValue(0, "must not be negative"),
            ),
          ),
          asInt: v.optional(v.pipe(int64, v.transform(Number), v.minValue(0, "must not be negative"))),
          flags: v.optional(v.number()),
        }),
        "must be an array of data points",
      ),
      [],
    ),
  },
  "must be an OTLP Sum object",
);

/** One data point of a kept metric, with what identifies its series. */
export interface OtlpPoint {
  /** From the resource attribute; undefined when the resource has none. */
  claudeName: string | undefined;
  metric: typeof TOKEN_METRIC | typeof COST_METRIC;
  /** The token class (input, output, cacheRead, cacheCreation); null for cost. */
  type: string | null;
  model: string | null;
  temporality: "delta" | "cumulative";
  /** Resource, scope, metric and point attributes in one canonical text; hashed into the series key. */
  series: string;
  start: bigint | null;
  time: bigint;
  value: number;
}

/**
 * The kept metrics' data points of an export, or every problem with it,
 * each naming its field by path (`resourceMetrics[0].scopeMetrics[0].metrics[1].sum.dataPoints[2].asInt`).
 */
export function parseExport(body: unknown): Result<OtlpPoint[]> {
  if (Array.isArray(body)) return invalid([{ field: "body", message: "must be a JSON object (an OTLP ExportMetricsServiceRequest), not an array" }]);
  const parsed = validate(otlpRequestSchema, body);
  if (!parsed.ok) return parsed;
  const points: OtlpPoint[] = [];
  const issues: FieldIssue[] = [];
  parsed.value.resourceMetrics.forEach((rm, r) => {
    const resourcePath = `resourceMetrics[${r}]`;
    const agent = agentOf(rm.resource.attributes, `${resourcePath}.resource.attributes`, issues);
    rm.scopeMetrics.forEach((sm, s) => {
      sm.metrics.forEach((m, i) => {
        if (!KEPT.has(m.name)) return;
        const path = `${resourcePath}.scopeMetrics[${s}].metrics[${i}]`;
        const given = (m as Record<string, unknown>).sum;
        if (given === undefined) {
          issues.push({ field: `${path}.sum`, message: `must be a sum (a counter): ${m.name} is counted from sums only` });
          return;
        }
        const checked = validate(sum, given);
        if (!checked.ok) {
          for (const issue of checked.error.issues ?? []) issues.push({ field: `${path}.sum${issue.field === "body" ? "" : `.${issue.field}`}`.replace(/\.\[/g, "["), message: issue.message });
          return;
        }
        const { aggregationTemporality: temporality, dataPoints } = checked.value;
        dataPoints.forEach((p, d) => {
          const where = `${path}.sum.dataPoints[${d}]`;
          // A point flagged "no recorded value" (bit 1) marks a series gone stale: nothing to count.
          if (p.flags !== undefined && (p.flags & 1) === 1) return;
          if ((p.asInt === undefined) === (p.asDouble === undefined)) {
            issues.push({ field: where, message: "must carry exactly one of asInt and asDouble" });
            return;
          }
          const attrs = p.attributes;
          points.push({
            claudeName: agent,
            metric: m.name as OtlpPoint["metric"],
            type: m.name === TOKEN_METRIC ? stringAttribute(attrs, "type") : null,
            model: stringAttribute(attrs, "model"),
            temporality,
            series: JSON.stringify([canonical(rm.resource.attributes), sm.scope.name ?? "", sm.scope.version ?? "", canonical(sm.scope.attributes), m.name, canonical(attrs)]),
            start: p.startTimeUnixNano === undefined || BigInt(p.startTimeUnixNano) === 0n ? null : BigInt(p.startTimeUnixNano),
            time: BigInt(p.timeUnixNano),
            value: p.asInt ?? p.asDouble!,
          });
        });
      });
    });
  });
  return issues.length > 0 ? invalid(issues) : ok(points);
}

/** The agent a resource names, checked as a report's claude_name is; undefined when it names none. */
function agentOf(attrs: Attributes, path: string, issues: FieldIssue[]): string | undefined {
  const index = attrs.findIndex((a) => a.key === AGENT_ATTRIBUTE);
  if (index < 0) return undefined;
  const field = `${path}[${index}].value.stringValue`;
  const text = attrs[index]!.value?.stringValue;
  if (text === undefined) {
    issues.push({ field, message: `must be the agent's name as a string (${AGENT_ATTRIBUTE}=NAME in OTEL_RESOURCE_ATTRIBUTES)` });
    return undefined;
  }
  const name = v.safeParse(claudeName, text);
  if (!name.success) {
    issues.push({ field, message: name.issues[0].message });
    return undefined;
  }
  return name.output;
}

function stringAttribute(attrs: Attributes, key: string): string | null {
  return attrs.find((a) => a.key === key)?.value?.stringValue ?? null;
}

/** Attributes as sorted [key, value] pairs, each value in one spelling: 5 and "5" as intValue are the same. */
function canonical(attrs: Attributes): [string, string][] {
  return attrs.map((a): [string, string] => [a.key, valueText(a.value)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function valueText(value: AnyValue | undefined): string {
  if (value === undefined) return "";
  if (value.stringValue !== undefined) return `s:${value.stringValue}`;
  if (value.intValue !== undefined) return `i:${BigInt(value.intValue)}`;
  if (value.boolValue !== undefined) return `b:${value.boolValue}`;
  if (value.doubleValue !== undefined) return `d:${Number(value.doubleValue)}`;
  return `j:${JSON.stringify(value.arrayValue ?? value.kvlistValue ?? value.bytesValue ?? null)}`;
}
