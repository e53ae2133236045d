import type { AgentReport, ReportOutput } from "../functions/history/report.ts";
import { csvField } from "./csv.ts";

/**
 * The history report (functions/history/report.ts) as text for people:
 * Markdown to paste into a chat or a wiki, CSV for a spreadsheet. Both hold
 * the figures of the JSON, rounded only where a person reads them.
 */

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const usd = (n: number) => `$${n.toFixed(4)}`;
const pct = (x: number | null) => (x === null ? "—" : `${(100 * x).toFixed(1)}%`);
const delta = (x: number | null) => (x === null ? "—" : `${x > 0 ? "+" : ""}${x.toFixed(1)}%`);
const hours = (a: AgentReport) => a.busiest_hours.map((h) => `${String(h.hour).padStart(2, "0")}:00`).join(", ") || "—";
// A name is the only free text: a pipe would end its Markdown cell.
const cell = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|");

export function reportMarkdown(r: ReportOutput): string {
  const lines = [
    `# Usage ${r.period === "week" ? "week" : "month"} ${r.label} (${r.from} to ${r.to}, ${r.time_zone})`,
    "",
    `${r.complete ? "Complete" : "In progress"}: ${r.closed_days} closed days, ${r.live_days} live. ` +
      `Family: ${int(r.family.total_tokens)} tokens (${delta(r.family.change_tokens_pct)} against ${r.previous.label}), ${usd(r.family.total_cost)}. ` +
      `Jain index: ${r.jain_index === null ? "—" : r.jain_index.toFixed(3)}.`,
    "",
    "| agent | autonomy tokens | collaboration tokens | total tokens | change | autonomy cost | collaboration cost | total cost | days active | busiest hours | share | fair share | share ÷ fair |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ...r.agents.map((a) =>
      `| ${cell(a.claude_name)} | ${int(a.autonomous_tokens)} | ${int(a.collaborative_tokens)} | ${int(a.total_tokens)} | ${delta(a.change_tokens_pct)} | ` +
      `${usd(a.autonomous_cost)} | ${usd(a.collaborative_cost)} | ${usd(a.total_cost)} | ${a.days_active} | ${hours(a)} | ` +
      `${pct(a.share)} | ${pct(a.fair_share)} | ${a.share_ratio === null ? "—" : a.share_ratio.toFixed(2)} |`),
    `| **family** | ${int(r.family.autonomous_tokens)} | ${int(r.family.collaborative_tokens)} | ${int(r.family.total_tokens)} | ${delta(r.family.change_tokens_pct)} | ` +
      `${usd(r.family.autonomous_cost)} | ${usd(r.family.collaborative_cost)} | ${usd(r.family.total_cost)} |  |  |  |  |  |`,
  ];
  if (r.windows.length > 0) {
    lines.push("", "| window | peak | at | readings |", "|---|---:|---|---:|");
    for (const w of r.windows) lines.push(`| ${w.window} | ${w.peak_percentage}% | ${w.peak_at_local} | ${w.readings} |`);
  }
  return `${lines.join("\n")}\n`;
}

/** The CSV's columns, one row per agent and a last row for the family (claude_name empty). */
export const REPORT_CSV_COLUMNS = [
  "period", "label", "from", "to", "claude_name", "weight",
  "autonomous_tokens", "collaborative_tokens", "total_tokens", "autonomous_cost", "collaborative_cost", "total_cost",
  "reports", "days_active", "busiest_hours", "previous_total_tokens", "previous_total_cost", "change_tokens_pct", "change_cost_pct",
  "share", "fair_share", "share_ratio", "jain_index",
] as const;

export function reportCsv(r: ReportOutput): string {
  const head = { period: r.period, label: r.label, from: r.from, to: r.to };
  const rows: Record<string, unknown>[] = r.agents.map((a) => ({
    ...head, ...a, busiest_hours: a.busiest_hours.map((h) => h.hour).join(" "),
    previous_total_tokens: a.previous.total_tokens, previous_total_cost: a.previous.total_cost, jain_index: r.jain_index,
  }));
  rows.push({
    ...head, ...r.family, claude_name: "", weight: null, days_active: null, busiest_hours: null,
    previous_total_tokens: r.family.previous.total_tokens, previous_total_cost: r.family.previous.total_cost, jain_index: r.jain_index,
  });
  // Costs are sums of floats: to the micro-dollar, so 0.1 + 0.2 reads 0.3.
  const value = (row: Record<string, unknown>, c: string) => (c.endsWith("_cost") && typeof row[c] === "number" ? Number((row[c] as number).toFixed(6)) : row[c]);
  return [REPORT_CSV_COLUMNS.join(","), ...rows.map((row) => REPORT_CSV_COLUMNS.map((c) => csvField(value(row, c))).join(","))].join("\r\n") + "\r\n";
}
