import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_ADVICE } from "../../shared/advice-settings.ts";
import { ROOT } from "../support/process.ts";
import { chart } from "./chart.ts";
import { makeFamily } from "./family.ts";
import { figures, type Figures } from "./figures.ts";
import { runPolicy, type PolicyName, type RunResult } from "./run.ts";

/**
 * `npm run simulate [-- --seed=N --weeks=N --agents=N --json]`: a family
 * of agents obeying the real advice (and, for contrast, a constant 1800 s
 * and the original system's compounding formula) over simulated weeks,
 * through the real ingest handler on a temporary libSQL file. Prints the
 * figures of fair-share.md, "Proof", and writes an SVG chart.
 */
function parseArgs(argv: string[]) {
  const o = { seed: 20261205, weeks: 4, agents: 6, json: false };
  for (const arg of argv) {
    const m = /^--(seed|weeks|agents)=(\d+)$/.exec(arg);
    if (m) o[m[1] as "seed" | "weeks" | "agents"] = Number(m[2]);
    else if (arg === "--json") o.json = true;
    else {
      process.stderr.write(`Unknown option ${arg}. Use --seed=N, --weeks=N (1-12), --agents=N (2-10) and --json.\n`);
      process.exit(1);
    }
  }
  if (o.weeks < 1 || o.weeks > 12 || o.agents < 2 || o.agents > 10) {
    process.stderr.write("--weeks must be 1 to 12 and --agents 2 to 10.\n");
    process.exit(1);
  }
  return o;
}

const SCENARIOS: { scenario: string; surprises: boolean; policies: PolicyName[] }[] = [
  { scenario: "steady", surprises: false, policies: ["ours", "constant 1800 s", "compounding"] },
  { scenario: "surprises", surprises: true, policies: ["ours", "constant 1800 s", "compounding"] },
];

const fmt = {
  jain: (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(3)} (mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3)})` : "-"),
  share: (xs: number[]) => (xs.length ? `${(100 * Math.min(...xs)).toFixed(1)}% (mean ${((100 * xs.reduce((a, b) => a + b, 0)) / xs.length).toFixed(1)}%)` : "-"),
};

function table(all: Figures[]): string {
  const rows: [string, (f: Figures) => string][] = [
    ["Jain index per week, lowest (mean)", (f) => fmt.jain(f.jain)],
    ["windows reaching 100%", (f) => String(f.overruns)],
    ["minutes the human was blocked", (f) => String(f.humanBlockedMinutes)],
    ["weekly window used by its reset, lowest (mean)", (f) => fmt.share(f.utilisation)],
    ["recommended intervals, s", (f) => `${f.intervalMin}-${f.intervalMax}`],
    ["largest step between replies", (f) => `${f.maxStep.toFixed(2)}x`],
    ["  the same, no window reset in between", (f) => `${f.maxSteadyStep.toFixed(2)}x`],
  ];
  const header = ["figure", ...all.map((f) => `${f.policy}, ${f.scenario}`)];
  const body = rows.map(([name, get]) => [name, ...all.map(get)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const all: Figures[] = [];
  const runs: { label: string; family: ReturnType<typeof makeFamily>; run: RunResult }[] = [];
  for (const s of SCENARIOS)
    for (const policy of s.policies) {
      // Each run gets the same family and the same random draws.
      const family = makeFamily(o.seed, o.agents, s.surprises);
      const run = await runPolicy(family, policy, o.weeks);
      all.push(figures(s.scenario, family, run));
      runs.push({ label: `${policy}, ${s.scenario}`, family, run });
      if (!o.json) process.stderr.write(`${policy}, ${s.scenario}: done after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  const dir = join(ROOT, "bench-results");
  mkdirSync(dir, { recursive: true });
  const svg = join(dir, `simulate-seed${o.seed}.svg`);
  writeFileSync(svg, chart(runs, DEFAULT_ADVICE.targetPercent));
  const seconds = (Date.now() - started) / 1000;
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ seed: o.seed, weeks: o.weeks, agents: o.agents, seconds, chart: svg, runs: all }, null, 2)}\n`);
    return;
  }
  const family = makeFamily(o.seed, o.agents, false);
  process.stdout.write(
    `${o.agents} agents (${family.agents.map((a) => `${a.name} w${a.weight} ${Math.round(a.cost / 1000)}k`).join(", ")}), ${o.weeks} weeks, seed ${o.seed}; ` +
      `weekly window ${(family.weeklyCapacity / 1e6).toFixed(0)}M tokens, 5-hour ${(family.fiveHourCapacity / 1e6).toFixed(1)}M; ` +
      `surprises: from day 10.5 ${family.agents[2]?.name}'s prompts cost twice as much, ${family.agents[4]?.name ?? family.agents.at(-1)!.name} is silent on days 16-18\n\n`,
  );
  process.stdout.write(`${table(all)}\n\nchart: ${svg}\nsimulated in ${seconds.toFixed(1)} s\n`);
}

await main();
