import parse from "parse-prometheus-text-format";

/** A metric family as parse-prometheus-text-format gives it (prom2json's shape: values as text). */
export interface Family {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

/** Parses exposition text with a real parser; the families by name. */
export function parseMetrics(text: string): Map<string, Family> {
  return new Map((parse(text) as Family[]).map((f) => [f.name, f]));
}

/** The value of the one series of `name` whose labels include `labels`; undefined when there is none. */
export function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = families.get(name)?.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)) ?? [];
  if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value === undefined ? undefined : Number(found[0].value);
}
