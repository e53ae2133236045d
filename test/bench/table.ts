/** One line of the results table: a figure beside what it is judged against. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with: another measurement or a fixed target. */
  reference: string;
  referenceValue: number;
  /** value / referenceValue (or value - referenceValue for "within" targets). */
  ratio: number;
  /** The target in words, e.g. ">= 0.5", "<= 1.5", "< 3 ms". */
  target: string;
  met: boolean | null;
}

const fmt = (n: number) =>
  !Number.isFinite(n) ? "-" : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

/** A plain-text table that reads well in a terminal and in a README. */
export function renderTable(figures: Figure[]): string {
  const rows = [
    ["figure", "value", "reference", "ref. value", "ratio", "target", "met"],
    ...figures.map((f) => [
      f.name,
      `${fmt(f.value)} ${f.unit}`,
      f.reference,
      `${fmt(f.referenceValue)} ${f.unit}`,
      fmt(f.ratio),
      f.target,
      f.met === null ? "-" : f.met ? "yes" : "NO",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}
