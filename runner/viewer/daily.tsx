import type { Hono } from "hono";
import { DAY_COLUMNS } from "../../functions/daySums.ts";
import type { DailyRow } from "../../functions/queryDaily.ts";
import * as v from "valibot";
import { claudeName, dayProblem } from "../../shared/fields.ts";
import { addDays, daysBetween, localDay } from "../../shared/time.ts";
import type { ViewerDeps } from "./deps.ts";
import { exportResponse, isExportFormat } from "./export.ts";
import { Cell, Page } from "./layout.tsx";
import { runHandler } from "../platform/run-handler.ts";

const SHOWN = 1000;
/** What each row shows: the day's sums, and whether the day is closed or live. */
const COLUMNS = [...DAY_COLUMNS, "closed"] as const;
/** Days read per step of an export: memory holds about a month at a time. */
const CHUNK_DAYS = 31;
const MAX_DAYS = 3660;

type Range = { from: string; to: string; agent: string };

function parseRange(q: Record<string, string | undefined>, today: string): { range: Range; problem?: string } {
  const from = (q.from ?? "").trim() || addDays(today, -6);
  const to = (q.to ?? "").trim() || today;
  const agent = (q.agent ?? "").trim();
  const fallback = { from: addDays(today, -6), to: today, agent };
  const dayProblems = (["from", "to"] as const).flatMap((key) => {
    const problem = dayProblem(key === "from" ? from : to);
    return problem ? [`"${key}" ${problem}`] : [];
  });
  if (dayProblems.length) return { range: fallback, problem: `${dayProblems.join("; ")}; showing the last 7 days.` };
  if (from > to) return { range: fallback, problem: `"from" (${from}) is after "to" (${to}); showing the last 7 days.` };
  if (daysBetween(from, to).length > MAX_DAYS) return { range: fallback, problem: `The range is longer than ${MAX_DAYS} days; showing the last 7 days.` };
  if (agent && !v.is(claudeName, agent)) return { range: { ...fallback, agent: "" }, problem: "That is not an agent name (1 to 64 characters, no control characters); showing every agent." };
  return { range: { from, to, agent } };
}

/**
 * Daily summaries: closed days and today's live figures through the same
 * path as the dashboard, per agent per day, with downloads.
 */
export function registerDaily(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;
  const ctx = { db: deps.db, now: deps.now, config: deps.config };
  // The range was checked above (parseRange): a refusal here is a fault.
  const read = async (from: string, to: string, agent: string): Promise<DailyRow[]> => {
    const result = await runHandler("queryDaily", { from, to, ...(agent ? { claude_name: agent } : {}) }, ctx);
    if (!result.ok) throw new Error(`queryDaily refused ${from}..${to}: ${result.error.message}`);
    return result.value.rows;
  };
  const href = (base: string, r: Range) => `${base}?${new URLSearchParams({ from: r.from, to: r.to, ...(r.agent ? { agent: r.agent } : {}) }).toString()}`;

  app.get("/daily", async (c) => {
    const { range, problem } = parseRange(c.req.query(), localDay(deps.now(), tz));
    const rows = await read(range.from, range.to, range.agent);
    return c.html(
      <Page title="Daily summaries" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>Daily summaries</h1>
        <p class="muted">One row per agent per local day in {tz}; today is computed live from the reports.</p>
        {problem ? <p class="error">{problem}</p> : null}
        <form class="filters" method="get" action="/daily">
          <label>From day<input type="date" name="from" value={range.from} /></label>
          <label>To day (included)<input type="date" name="to" value={range.to} /></label>
          <label>Agent<input name="agent" value={range.agent} placeholder="any" /></label>
          <button type="submit">Apply</button>
        </form>
        <p>
          <strong id="matching">{rows.length.toLocaleString("en-US")}</strong> rows
          {rows.length > SHOWN ? `; the first ${SHOWN} are shown, the downloads have all` : ""}.{" "}
          Download: <a href={href("/daily/export/csv", range)}>CSV</a> · <a href={href("/daily/export/json", range)}>JSON</a>
        </p>
        <div class="scroll">
          <table id="rows">
            <thead><tr>{COLUMNS.map((col) => <th>{col}</th>)}</tr></thead>
            <tbody>{rows.slice(0, SHOWN).map((r) => <tr>{COLUMNS.map((col) => <Cell value={col === "closed" ? (r.closed ? "closed" : "live") : r[col]} />)}</tr>)}</tbody>
          </table>
        </div>
      </Page>,
      problem ? 400 : 200,
    );
  });

  app.get("/daily/export/:format", async (c) => {
    const format = c.req.param("format");
    if (!isExportFormat(format)) return c.notFound();
    const { range, problem } = parseRange(c.req.query(), localDay(deps.now(), tz));
    if (problem) return c.text(`Not exported: ${problem}\n`, 400);
    async function* chunks() {
      for (let from = range.from; from <= range.to; from = addDays(from, CHUNK_DAYS)) {
        const to = addDays(from, CHUNK_DAYS - 1) < range.to ? addDays(from, CHUNK_DAYS - 1) : range.to;
        const rows = await read(from, to, range.agent);
        if (rows.length) yield rows.map((r) => COLUMNS.map((col) => r[col]));
      }
    }
    return exportResponse(format, `daily_${range.from}_${range.to}`, [...COLUMNS], chunks());
  });
}
