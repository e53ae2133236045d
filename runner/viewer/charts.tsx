import type { DayRow } from "../../functions/daySums.ts";
import type { HourSlot } from "../../functions/dashboard.ts";
import { compact, tokens } from "./format.ts";

interface Bar {
  label: string;
  autonomous: number;
  collaborative: number;
}

const LEFT = 34;
const BOTTOM = 16;
const TOP = 6;

/**
 * A bar chart stacked by mode (autonomy below, collaboration above), drawn
 * on the server as SVG: no script, scales with the page, and each bar's
 * <title> gives the exact figures on hover or long-press.
 */
function StackedBars({ bars, max, title, ticks, W = 320, H = 110 }: { bars: Bar[]; max: number; title: string; ticks: number[]; W?: number; H?: number }) {
  const plotH = H - BOTTOM - TOP;
  const step = (W - LEFT) / Math.max(1, bars.length);
  const y = (v: number) => (max > 0 ? (v / max) * plotH : 0);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
      <title>{title}</title>
      <line class="axis" x1={LEFT} y1={H - BOTTOM} x2={W} y2={H - BOTTOM} />
      <line class="axis" x1={LEFT} y1={TOP} x2={W} y2={TOP} />
      <text x={LEFT - 3} y={TOP + 4} text-anchor="end">{compact(max)}</text>
      <text x={LEFT - 3} y={H - BOTTOM} text-anchor="end">0</text>
      {bars.map((b, i) => {
        const x = LEFT + i * step + step * 0.12;
        const w = step * 0.76;
        const ha = y(b.autonomous);
        const hc = y(b.collaborative);
        return (
          <g>
            <title>{`${b.label}: ${tokens(b.autonomous)} autonomous, ${tokens(b.collaborative)} collaborative tokens`}</title>
            <rect class="auto" x={x.toFixed(1)} y={(H - BOTTOM - ha).toFixed(1)} width={w.toFixed(1)} height={ha.toFixed(1)} />
            <rect class="collab" x={x.toFixed(1)} y={(H - BOTTOM - ha - hc).toFixed(1)} width={w.toFixed(1)} height={hc.toFixed(1)} />
            {/* An invisible full-height target so empty days still show their title. */}
            <rect x={(LEFT + i * step).toFixed(1)} y={TOP} width={step.toFixed(1)} height={plotH} fill="transparent" />
          </g>
        );
      })}
      {ticks.map((i) => (
        <text
          x={(i === bars.length - 1 ? W : LEFT + i * step + step / 2).toFixed(1)}
          y={H - 3}
          text-anchor={i === bars.length - 1 ? "end" : i === 0 ? "start" : "middle"}
        >
          {bars[i]?.label.slice(-5) ?? ""}
        </text>
      ))}
    </svg>
  );
}

export function Legend() {
  return (
    <div class="legend">
      <span><span class="swatch auto" />autonomy (no human attached)</span>
      <span><span class="swatch collab" />collaboration (human attached)</span>
    </div>
  );
}

/** One small chart per agent, all on the same scale so heights compare. */
export function DailyCharts({ days, rows, agents, span = `last ${days.length} days` }: { days: string[]; rows: DayRow[]; agents: string[]; span?: string }) {
  const byKey = new Map(rows.map((r) => [`${r.claude_name}\u0000${r.date}`, r]));
  const max = Math.max(0, ...rows.map((r) => r.autonomous_tokens + r.collaborative_tokens));
  const ticks = [0, Math.floor((days.length - 1) / 2), days.length - 1];
  return (
    <div class="charts">
      {agents.map((name) => {
        const bars = days.map((d) => {
          const r = byKey.get(`${name}\u0000${d}`);
          return { label: d, autonomous: r?.autonomous_tokens ?? 0, collaborative: r?.collaborative_tokens ?? 0 };
        });
        return (
          <figure>
            <figcaption>{name}</figcaption>
            <StackedBars bars={bars} max={max} ticks={ticks} title={`Daily tokens of ${name}, ${span}, stacked by mode`} />
          </figure>
        );
      })}
    </div>
  );
}

export function HourlyChart({
  slots,
  caption = "Today by hour, whole family",
  title = "Tokens per hour today, stacked by mode",
}: {
  slots: Pick<HourSlot, "label" | "autonomous_tokens" | "collaborative_tokens">[];
  caption?: string;
  title?: string;
}) {
  const max = Math.max(0, ...slots.map((s) => s.autonomous_tokens + s.collaborative_tokens));
  const bars = slots.map((s) => ({ label: s.label, autonomous: s.autonomous_tokens, collaborative: s.collaborative_tokens }));
  const ticks = slots.map((_, i) => i).filter((i) => i % 3 === 0);
  return (
    <figure class="wide">
      <figcaption>{caption}</figcaption>
      <StackedBars bars={bars} max={max} ticks={ticks} W={720} H={150} title={title} />
    </figure>
  );
}
