import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { sqlite3Rows, tempDatabasePath, tempDir } from "../../support/database.ts";
import { ROOT } from "../../support/process.ts";
import { runRunner, startRunner } from "../../support/server.ts";
import { appendLines, assistantLine, userLine, type FakeMessage } from "../../support/transcripts.ts";

/**
 * The reporter checked against an independent implementation: ccusage
 * 18.0.11 (a dev dependency) reads the same transcripts. Daily token totals
 * per class must be equal; the cost within 1%. The fixture stays below the
 * long-context threshold, where the two bill differently (see
 * runner/reporter/cost.ts); that tier has its own test.
 */
const MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001", "claude-opus-4-5-20251101", "mystery-model-1"];

/** A small deterministic generator: the same fixture every run. */
function random(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** Three UTC days before today, five models, seven files, repeats within and across files, lines without usage. */
function writeFixture(projects: string): number {
  const r = random(17);
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const files = Array.from({ length: 7 }, (_, i) => join(projects, `-home-agent-p${i % 3}`, `session-${i}.jsonl`));
  const lines: string[][] = files.map(() => []);
  let distinct = 0;
  for (let n = 0; n < 900; n++) {
    const day = 1 + r(3);
    const at = new Date(today - day * 86_400_000 + r(86_400) * 1000 + r(1000)).toISOString();
    const m: FakeMessage = {
      id: `msg_${n}`,
      requestId: `req_${n}`,
      model: MODELS[r(MODELS.length)]!,
      timestamp: at,
      input: r(5000),
      output: r(8000),
      cacheCreation: r(3) === 0 ? 0 : r(50_000),
      cacheRead: r(120_000),
    };
    distinct++;
    const f = r(files.length);
    lines[f]!.push(userLine(at), assistantLine(m));
    if (r(7) === 0) lines[f]!.push(assistantLine(m)); // the same message twice in a file (a response in several content blocks)
    if (r(6) === 0) lines[(f + 1 + r(files.length - 1)) % files.length]!.push(assistantLine(m)); // and in another (a resumed session)
    if (r(50) === 0) lines[f]!.push("{not json");
  }
  files.forEach((path, i) => appendLines(path, lines[i]!));
  return distinct;
}

interface Day {
  date: string;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalCost: number;
}

describe("the reporter against ccusage", () => {
  it("gives the same daily tokens per class as ccusage daily --json, and a cost within 1% of it", async () => {
    const root = tempDir("rs-ccusage-");
    const claude = join(root, "claude");
    const distinct = writeFixture(join(claude, "projects"));

    const db = tempDatabasePath();
    const webhook = await startRunner("serve", { DATABASE_URL: `file:${db}` });
    const run = await runRunner(["report", "--once", "--mode", "autonomy"], {
      CLAUDE_NAME: "Sparkle-Orange",
      CLAUDE_CONFIG_DIR: claude,
      XDG_STATE_HOME: join(root, "state"),
      RESOURCE_SHARE_URL: webhook.url,
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/mystery-model-1 is not in the price table/);
    const ours = sqlite3Rows<Day>(
      db,
      `SELECT substr(timestamp, 1, 10) AS date, sum(input_tokens) AS inputTokens, sum(output_tokens) AS outputTokens,
         sum(cache_creation_tokens) AS cacheCreationTokens, sum(cache_read_tokens) AS cacheReadTokens, coalesce(sum(cost_delta), 0) AS totalCost
       FROM resource_share_increments GROUP BY date ORDER BY date`,
    );
    expect(sqlite3Rows(db, "SELECT count(*) AS n FROM resource_share_increments")).toEqual([{ n: distinct }]);

    const { stdout } = await promisify(execFile)(join(ROOT, "node_modules/.bin/ccusage"), ["daily", "--json", "--offline", "--timezone", "UTC"], {
      // HOME too: ccusage looks for its own configuration there.
      env: { ...process.env, CLAUDE_CONFIG_DIR: claude, HOME: root },
      timeout: 60_000,
    });
    const theirs = (JSON.parse(stdout) as { daily: Day[] }).daily;
    expect(theirs).toHaveLength(3);
    expect(ours.map(({ totalCost, ...tokens }) => tokens)).toEqual(theirs.map(({ date, inputTokens, outputTokens, cacheCreationTokens, cacheReadTokens }) => ({ date, inputTokens, outputTokens, cacheCreationTokens, cacheReadTokens })));
    for (const [i, day] of theirs.entries()) {
      expect(day.totalCost).toBeGreaterThan(0);
      expect(Math.abs(ours[i]!.totalCost - day.totalCost) / day.totalCost).toBeLessThan(0.01);
    }
  });
});
