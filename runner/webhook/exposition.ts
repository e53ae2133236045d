/**
 * Prometheus' text exposition format 0.0.4, the little of it the webhook
 * needs: counters, gauges and one histogram, each under its HELP and TYPE.
 * Written here rather than taken from prom-client, which added 6 MB to the
 * webhook's resident memory by being imported (docs/performance.md,
 * "Metrics"); test/runner/webhook/metrics.test.ts reads the output back
 * with a real parser.
 */

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Record<string, string>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text: backslash and newline escaped. */
const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
/** A label value: backslash, double quote and newline escaped. */
export const escapeLabelValue = (text: string) => text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels);
  return pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** One metric family: written as a block of the exposition. */
export interface Family {
  readonly name: string;
  text(): string;
}

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a valid Prometheus metric name`);
  for (const l of labelNames) if (!LABEL_NAME.test(l) || l.startsWith("__")) throw new Error(`${JSON.stringify(l)} is not a valid Prometheus label name (metric ${name})`);
}

/** A counter without labels: one number, incremented on the request path. */
export class Counter implements Family {
  private value = 0;
  constructor(readonly name: string, private readonly help: string) {
    checkNames(name, []);
  }
  inc(by = 1): void {
    this.value += by;
  }
  text(): string {
    return `${header(this.name, this.help, "counter")}${this.name} ${formatValue(this.value)}\n`;
  }
}

/**
 * A family of series told apart by labels: a counter by reason, or a gauge
 * set at each scrape. Series keep the order they were first set in.
 */
export class Series implements Family {
  private readonly series = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: "counter" | "gauge",
    private readonly labelNames: readonly string[] = [],
  ) {
    checkNames(name, labelNames);
  }
  private entry(labels: Labels) {
    // The values in the label names' order: the same series whatever order the caller wrote them in.
    const values = this.labelNames.map((l) => labels[l] ?? "");
    const key = values.join("\u0000");
    let e = this.series.get(key);
    if (e === undefined) this.series.set(key, (e = { labels: Object.fromEntries(this.labelNames.map((l, i) => [l, values[i]!])), value: 0 }));
    return e;
  }
  inc(labels: Labels, by = 1): void {
    this.entry(labels).value += by;
  }
  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }
  reset(): void {
    this.series.clear();
  }
  text(): string {
    let out = header(this.name, this.help, this.type);
    for (const { labels, value } of this.series.values()) out += `${this.name}${formatLabels(labels)} ${formatValue(value)}\n`;
    return out;
  }
}

/** A histogram without labels: an observation finds its bucket among a handful, nothing more. */
export class Histogram implements Family {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, private readonly help: string, private readonly bounds: readonly number[]) {
    checkNames(name, []);
    this.counts = bounds.map(() => 0);
  }
  observe(value: number): void {
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
  text(): string {
    let out = header(this.name, this.help, "histogram");
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += this.counts[i]!;
      out += `${this.name}_bucket{le="${formatValue(bound)}"} ${cumulative}\n`;
    });
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${formatValue(this.sum)}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}
