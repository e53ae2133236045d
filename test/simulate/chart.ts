import type { Family } from "./family.ts";
import type { RunResult } from "./run.ts";

/**
 * An SVG a person can open: per run, each agent's cumulative autonomous
 * tokens (left) and each window's used % over time (right), one row per run.
 */
const W = 520;
const H = 180;
const PAD = 36;
const COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#469990", "#9a6324"];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function line(values: number[], max: number, x0: number, y0: number, colour: string): string {
  if (values.length < 2) return "";
  const pts = values.map((v, i) => `${(x0 + PAD + (i / (values.length - 1)) * (W - 2 * PAD)).toFixed(1)},${(y0 + H - PAD - (Math.min(v, max) / max) * (H - 2 * PAD)).toFixed(1)}`);
  return `<polyline fill="none" stroke="${colour}" stroke-width="1.3" points="${pts.join(" ")}"/>`;
}

function frame(x0: number, y0: number, title: string, yLabel: string): string {
  return `<rect x="${x0 + PAD}" y="${y0 + PAD}" width="${W - 2 * PAD}" height="${H - 2 * PAD}" fill="none" stroke="#999"/>
<text x="${x0 + PAD}" y="${y0 + PAD - 8}" font-size="12">${esc(title)}</text>
<text x="${x0 + 4}" y="${y0 + PAD + 10}" font-size="10" fill="#555">${esc(yLabel)}</text>`;
}

export function chart(runs: { label: string; family: Family; run: RunResult }[], target: number): string {
  const rows = runs.map(({ label, family, run }, r) => {
    const y0 = r * H;
    const maxTokens = Math.max(1, ...run.trace.cumulative.map((c) => c.at(-1) ?? 0));
    const agents = run.trace.cumulative.map((c, i) => line(c, maxTokens, 0, y0, COLOURS[i % COLOURS.length]!)).join("\n");
    const legend = family.agents
      .map((a, i) => `<text x="${PAD + 4}" y="${y0 + PAD + 12 + i * 11}" font-size="9" fill="${COLOURS[i % COLOURS.length]}">${esc(`${a.name} (w ${a.weight}, ${Math.round(a.cost / 1000)}k/prompt)`)}</text>`)
      .join("\n");
    const targetY = y0 + H - PAD - (target / 100) * (H - 2 * PAD);
    return `${frame(0, y0, `${label}: cumulative autonomous tokens per agent (max ${(maxTokens / 1e6).toFixed(0)}M)`, "tokens")}
${agents}
${legend}
${frame(W, y0, `${label}: windows, used %`, "%")}
<line x1="${W + PAD}" x2="${2 * W - PAD}" y1="${targetY}" y2="${targetY}" stroke="#aaa" stroke-dasharray="4 3"/>
${line(run.trace.fiveHour, 100, W, y0, "#f58231")}
${line(run.trace.weekly, 100, W, y0, "#4363d8")}
<text x="${2 * W - PAD - 150}" y="${y0 + PAD + 12}" font-size="9" fill="#4363d8">weekly</text>
<text x="${2 * W - PAD - 100}" y="${y0 + PAD + 12}" font-size="9" fill="#f58231">5-hour</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${runs.length * H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${rows.join("\n")}
</svg>
`;
}
