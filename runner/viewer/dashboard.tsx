import type { Hono } from "hono";
import { PERIODS, type AgentUsage, type DashboardOutput, type PeriodKey } from "../../functions/dashboard.ts";
import type { Sums } from "../../functions/daySums.ts";
import { daysBetween } from "../../shared/time.ts";
import { DailyCharts, HourlyChart, Legend } from "./charts.tsx";
import type { ViewerDeps } from "./deps.ts";
import { localTime, percent, span, tokens, usd } from "./format.ts";
import { Page } from "./layout.tsx";
import { FiringBanner, firingCount } from "./alerts.tsx";
import { runHandler } from "../platform/run-handler.ts";

/**
 * An agent is called silent after this long without a report. Timers post
 * every few seconds to every 30 minutes while their agent works; an hour of
 * nothing means the agent or its timer stopped.
 */
export const SILENT_AFTER_MS = 60 * 60_000;

function LastReport({ agent, now, timeZone }: { agent: AgentUsage; now: number; timeZone: string }) {
  if (agent.last_report_ms === null) return <td class="null">no reports yet</td>;
  const ago = now - agent.last_report_ms;
  return (
    <td data-col="last_report">
      {localTime(agent.last_report_ms, timeZone)}{" "}
      {ago >= SILENT_AFTER_MS ? (
        <span class="silent">silent for {span(ago)}</span>
      ) : (
        <span class="muted">({span(Math.max(0, ago))} ago)</span>
      )}
    </td>
  );
}

function SumCells({ sums, whole }: { sums: Sums; whole: number }) {
  return (
    <>
      <td class="num first-of-group" data-col="autonomous_tokens">{tokens(sums.autonomous_tokens)}</td>
      <td class="num" data-col="collaborative_tokens">{tokens(sums.collaborative_tokens)}</td>
      <td class="num" data-col="total_tokens">{tokens(sums.total_tokens)}</td>
      <td class="num" data-col="share">{percent(sums.total_tokens, whole)}</td>
      <td class="num first-of-group" data-col="autonomous_cost">{usd(sums.autonomous_cost)}</td>
      <td class="num" data-col="collaborative_cost">{usd(sums.collaborative_cost)}</td>
      <td class="num" data-col="total_cost">{usd(sums.total_cost)}</td>
    </>
  );
}

function PeriodTable({ data, period }: { data: DashboardOutput; period: (typeof PERIODS)[number] }) {
  const key: PeriodKey = period.key;
  const family = data.family[key];
  const range = period.days === 1 ? data.today : `${data.period_starts[key]} to ${data.today}`;
  return (
    <section>
      <h2>{period.label} <span class="muted">({range})</span></h2>
      <div class="scroll">
        <table id={`period-${key}`}>
          <thead>
            <tr>
              <th rowspan={2}>Agent</th>
              <th class="group" colspan={4}>Tokens</th>
              <th class="group" colspan={3}>Cost (USD)</th>
            </tr>
            <tr>
              <th class="num first-of-group">autonomy</th>
              <th class="num">collaboration</th>
              <th class="num">total</th>
              <th class="num">share</th>
              <th class="num first-of-group">autonomy</th>
              <th class="num">collaboration</th>
              <th class="num">total</th>
            </tr>
          </thead>
          <tbody>
            {data.agents.map((a) => (
              <tr data-agent={a.claude_name}>
                <td class="text">{a.claude_name}</td>
                <SumCells sums={a.periods[key]} whole={family.total_tokens} />
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr data-agent="">
              <td>Family</td>
              <SumCells sums={family} whole={family.total_tokens} />
            </tr>
          </tfoot>
        </table>
      </div>
    </section>
  );
}

export function registerDashboard(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;
  app.get("/", async (c) => {
    const result = await runHandler("dashboard", {}, { db: deps.db, now: deps.now, config: deps.config });
    if (!result.ok) throw new Error(result.error.message);
    const data = result.value;
    const now = Date.parse(data.generated_at);
    const firing = await firingCount(deps.db);
    const silent = data.agents.filter((a) => a.last_report_ms !== null && now - a.last_report_ms >= SILENT_AFTER_MS);
    return c.html(
      <Page title="Dashboard" timeZone={tz} loggedIn={deps.access.enabled}>
        <FiringBanner count={firing} />
        <h1>Where the shared budget goes</h1>
        <p class="muted">
          Today is {data.today} in {tz}; figures as of {localTime(now, tz)}. Reload the page for newer figures.
        </p>
        <p id="report-links">
          Reports, printable: <a href="/reports/week">this week</a> · <a href="/reports/month">this month</a>
        </p>
        {data.agents.length === 0 ? <p class="note">No agent has reported yet. Reports arrive at the webhook (POST /resource-share/increment).</p> : null}
        {silent.length > 0 ? (
          <p class="note">
            {silent.length === 1 ? "1 agent has" : `${silent.length} agents have`} not reported for over an hour:{" "}
            {silent.map((a) => a.claude_name).join(", ")}.
          </p>
        ) : null}
        <div class="scroll">
          <table id="agents">
            <thead><tr><th>Agent</th><th>Last report</th></tr></thead>
            <tbody>
              {data.agents.map((a) => (
                <tr data-agent={a.claude_name}>
                  <td class="text">{a.claude_name}</td>
                  <LastReport agent={a} now={now} timeZone={tz} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {PERIODS.map((p) => <PeriodTable data={data} period={p} />)}
        <h2>Daily tokens, last 30 days</h2>
        <Legend />
        <DailyCharts days={daysBetween(data.period_starts.month, data.today)} rows={data.daily} agents={data.agents.map((a) => a.claude_name)} />
        <h2>Today by hour</h2>
        <HourlyChart slots={data.hourly} />
      </Page>,
    );
  });
}
