import type { Hono } from "hono";
import type { AgentReport, ReportOutput } from "../../functions/history/report.ts";
import type { PeriodKind } from "../../functions/history/period.ts";
import { reportCsv, reportMarkdown } from "../../shared/report-formats.ts";
import { daysBetween, localDay } from "../../shared/time.ts";
import { runHandler } from "../platform/run-handler.ts";
import { DailyCharts, HourlyChart, Legend } from "./charts.tsx";
import type { ViewerDeps } from "./deps.ts";
import { tokens, usd } from "./format.ts";
import { Page } from "./layout.tsx";

const pct = (x: number | null) => (x === null ? "—" : `${(100 * x).toFixed(1)}%`);
const delta = (x: number | null) => (x === null ? "—" : `${x > 0 ? "+" : ""}${x.toFixed(1)}%`);
const hour = (h: number) => `${String(h).padStart(2, "0")}:00`;
/** The downloads: the same renderers as `runner invoke report --format`. */
const DOWNLOADS = {
  csv: { render: reportCsv, type: "text/csv; charset=utf-8", extension: "csv" },
  markdown: { render: reportMarkdown, type: "text/markdown; charset=utf-8", extension: "md" },
} as const;
const isDownload = (f: string): f is keyof typeof DOWNLOADS => Object.hasOwn(DOWNLOADS, f);
const NAMES: Record<PeriodKind, { one: string; title: string }> = { week: { one: "week", title: "Week" }, month: { one: "month", title: "Month" } };

/** `of` as the pickers send it: a day, or a month ("2026-12") from the month picker. */
const dayOf = (of: string): string => (/^\d{4}-\d{2}$/.test(of) ? `${of}-01` : of);

function AgentRow({ a }: { a: AgentReport }) {
  return (
    <tr data-agent={a.claude_name}>
      <td class="text">{a.claude_name}</td>
      <td class="num first-of-group" data-col="autonomous_tokens">{tokens(a.autonomous_tokens)}</td>
      <td class="num" data-col="collaborative_tokens">{tokens(a.collaborative_tokens)}</td>
      <td class="num" data-col="total_tokens">{tokens(a.total_tokens)}</td>
      <td class="num" data-col="change">{delta(a.change_tokens_pct)}</td>
      <td class="num first-of-group" data-col="autonomous_cost">{usd(a.autonomous_cost)}</td>
      <td class="num" data-col="collaborative_cost">{usd(a.collaborative_cost)}</td>
      <td class="num" data-col="total_cost">{usd(a.total_cost)}</td>
      <td class="num first-of-group" data-col="days_active">{a.days_active}</td>
      <td data-col="busiest_hours">{a.busiest_hours.map((h) => hour(h.hour)).join(", ") || "—"}</td>
      <td class="num first-of-group" data-col="share">{pct(a.share)}</td>
      <td class="num" data-col="fair_share">{pct(a.fair_share)}</td>
      <td class="num" data-col="share_ratio">{a.share_ratio === null ? "—" : a.share_ratio.toFixed(2)}</td>
    </tr>
  );
}

function Report({ r }: { r: ReportOutput }) {
  const f = r.family;
  return (
    <>
      <p id="summary">
        Family: <strong>{tokens(f.total_tokens)}</strong> tokens ({delta(f.change_tokens_pct)} against {r.previous.label}), {usd(f.total_cost)};{" "}
        Jain index of the shares against the fair shares: <strong id="jain">{r.jain_index === null ? "—" : r.jain_index.toFixed(3)}</strong>.{" "}
        <span class="muted">
          Local days in {r.time_zone}. {r.complete ? "Complete" : "In progress"}: {r.closed_days} closed days, {r.live_days} read live from the reports.
        </span>
      </p>
      <div class="scroll">
        <table id="report-agents" class="report">
          <thead>
            <tr>
              <th rowspan={2}>Agent</th>
              <th class="group" colspan={4}>Tokens</th>
              <th class="group" colspan={3}>Cost (USD)</th>
              <th class="group" colspan={2}>Activity</th>
              <th class="group" colspan={3}>Autonomous share</th>
            </tr>
            <tr>
              <th class="num first-of-group">autonomy</th><th class="num">collaboration</th><th class="num">total</th><th class="num">change</th>
              <th class="num first-of-group">autonomy</th><th class="num">collaboration</th><th class="num">total</th>
              <th class="num first-of-group">days</th><th>busiest hours</th>
              <th class="num first-of-group">share</th><th class="num">fair</th><th class="num">÷ fair</th>
            </tr>
          </thead>
          <tbody>{r.agents.map((a) => <AgentRow a={a} />)}</tbody>
          <tfoot>
            <tr data-agent="">
              <td>Family</td>
              <td class="num first-of-group" data-col="autonomous_tokens">{tokens(f.autonomous_tokens)}</td>
              <td class="num" data-col="collaborative_tokens">{tokens(f.collaborative_tokens)}</td>
              <td class="num" data-col="total_tokens">{tokens(f.total_tokens)}</td>
              <td class="num" data-col="change">{delta(f.change_tokens_pct)}</td>
              <td class="num first-of-group" data-col="autonomous_cost">{usd(f.autonomous_cost)}</td>
              <td class="num" data-col="collaborative_cost">{usd(f.collaborative_cost)}</td>
              <td class="num" data-col="total_cost">{usd(f.total_cost)}</td>
              <td class="first-of-group" colspan={2} />
              <td class="first-of-group" colspan={3} />
            </tr>
          </tfoot>
        </table>
      </div>
      <h2>Quota windows</h2>
      {r.windows.length === 0 ? (
        <p class="muted">No reading of a quota window in this {NAMES[r.period].one}.</p>
      ) : (
        <table id="report-windows">
          <thead><tr><th>window</th><th class="num">peak</th><th>read at</th><th class="num">readings</th></tr></thead>
          <tbody>
            {r.windows.map((w) => (
              <tr><td>{w.window}</td><td class="num">{w.peak_percentage}%</td><td>{w.peak_at_local}</td><td class="num">{w.readings}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Daily tokens</h2>
      <Legend />
      <DailyCharts days={daysBetween(r.from, r.to)} rows={r.daily} agents={r.agents.map((a) => a.claude_name)} span={`${r.from} to ${r.to}`} />
      <h2>By hour of the day</h2>
      <HourlyChart
        slots={r.hours.map((h) => ({ label: hour(h.hour), autonomous_tokens: h.autonomous_tokens, collaborative_tokens: h.collaborative_tokens }))}
        caption={`Tokens by local hour, whole family, summed over ${r.label}`}
        title={`Tokens per local hour of the day over ${r.label}, stacked by mode`}
      />
    </>
  );
}

/**
 * The history reports: a week (ISO, Monday to Sunday) or a month of local
 * days, from the report handler. A picker and links step from period to
 * period; printed, the page drops the navigation and fits A4 (style.ts).
 */
export function registerReports(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;
  const ctx = { db: deps.db, now: deps.now, config: deps.config };
  for (const kind of ["week", "month"] as const) {
    const { one, title } = NAMES[kind];
    app.get(`/reports/${kind}`, async (c) => {
      const asked = (c.req.query("of") ?? "").trim();
      const today = localDay(deps.now(), tz);
      let problem: string | undefined;
      let result = await runHandler("report", { period: kind, of: asked ? dayOf(asked) : today }, ctx);
      if (!result.ok && result.error.code === "invalid_input") {
        problem = `"of" ${result.error.issues?.[0]?.message ?? result.error.message}; showing this ${one}.`;
        result = await runHandler("report", { period: kind, of: today }, ctx);
      }
      if (!result.ok) throw new Error(result.error.message);
      const r = result.value;
      const href = (of: string) => `/reports/${kind}?of=${of}`;
      return c.html(
        <Page title={`${title} ${r.label}`} timeZone={tz} loggedIn={deps.access.enabled}>
          <h1>
            {title} <span id="period-label">{r.label}</span> <span class="muted">({r.from} to {r.to})</span>
          </h1>
          {problem ? <p class="error no-print">{problem}</p> : null}
          <nav class="pager no-print" aria-label={`Choose a ${one}`}>
            <a id="previous" href={href(r.previous.from)}>‹ {r.previous.label}</a>
            <form class="filters" method="get" action={`/reports/${kind}`}>
              <label>
                {kind === "week" ? "Any day of the week" : "Month"}
                {kind === "week" ? <input type="date" name="of" value={r.from} /> : <input type="month" name="of" value={r.label} />}
              </label>
              <button type="submit">Show</button>
            </form>
            <a id="next" href={href(r.next.from)}>{r.next.label} ›</a>
            <a href={kind === "week" ? `/reports/month?of=${r.from}` : `/reports/week?of=${r.from}`}>{kind === "week" ? "this week's month" : "its first week"}</a>
          </nav>
          <Report r={r} />
          <p class="muted no-print">
            Download: <a href={`/reports/${kind}/export/csv?of=${r.from}`}>CSV</a> · <a href={`/reports/${kind}/export/markdown?of=${r.from}`}>Markdown</a>.
            The same on the command line: <code>npx tsx runner invoke report '{`{"period":"${kind}","of":"${r.from}"}`}' --format markdown</code>
          </p>
        </Page>,
        problem ? 400 : 200,
      );
    });

    app.get(`/reports/${kind}/export/:format`, async (c) => {
      const format = c.req.param("format");
      if (!isDownload(format)) return c.notFound();
      const result = await runHandler("report", { period: kind, of: dayOf((c.req.query("of") ?? "").trim() || localDay(deps.now(), tz)) }, ctx);
      if (!result.ok && result.error.code === "invalid_input") return c.text(`Not exported: ${result.error.message}\n`, 400);
      if (!result.ok) throw new Error(result.error.message);
      const { render, type, extension } = DOWNLOADS[format];
      c.header("content-type", type);
      c.header("content-disposition", `attachment; filename="report_${result.value.label}.${extension}"`);
      return c.body(render(result.value));
    });
  }
}
