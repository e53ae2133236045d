import type { Hono } from "hono";
import { disagreeingDays } from "../../functions/telemetry/compare.ts";
import { DEFAULT_TELEMETRY_MARGIN_PERCENT } from "../../shared/config.ts";
import { addDays, localDay } from "../../shared/time.ts";
import type { ViewerDeps } from "./deps.ts";
import { tokens, usd } from "./format.ts";
import { Page } from "./layout.tsx";

/** How far back the page looks: a season of nights. */
const DAYS_SHOWN = 90;

const pct = (x: number | null) => (x === null ? "not reported" : `${x.toFixed(1)}%`);

/**
 * The days on which Claude Code's own telemetry and the reports disagree by
 * more than the margin, as the nightly job recorded them
 * (telemetry_comparisons), newest first.
 */
export function registerTelemetry(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;
  app.get("/telemetry", async (c) => {
    const from = addDays(localDay(deps.now(), tz), -DAYS_SHOWN);
    const days = await disagreeingDays(deps.db, { from });
    const counts = await deps.db.execute({ sql: "SELECT count(*) AS compared, count(DISTINCT claude_name) AS agents FROM telemetry_comparisons WHERE date >= ?", args: [from] });
    const compared = Number(counts.rows[0]?.compared ?? 0);
    const agents = Number(counts.rows[0]?.agents ?? 0);
    const margin = deps.config.telemetryMarginPercent ?? DEFAULT_TELEMETRY_MARGIN_PERCENT;
    return c.html(
      <Page title="Telemetry" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>Telemetry against the reports</h1>
        <p class="muted">
          Each night the daily job compares every agent's closed day from the reports with the same day from Claude Code's own telemetry
          (POST /v1/metrics): cache-read tokens and cost. Days further apart than the margin (TELEMETRY_MARGIN_PERCENT, now {margin}%) are listed;
          a difference is measured against the larger of the two figures. Since {from}: {compared} agent day(s) of {agents} agent(s) compared.
        </p>
        {compared === 0 ? (
          <p>No day has been compared yet: no agent sends telemetry, or no day has been closed since one began. Setting it up: docs/telemetry.md.</p>
        ) : days.length === 0 ? (
          <p>Every compared day agrees within {margin}%.</p>
        ) : (
          <table id="telemetry-disagreements">
            <thead>
              <tr>
                <th>day</th><th>agent</th><th class="num">tokens, reports</th><th class="num">tokens, telemetry</th><th class="num">apart</th>
                <th class="num">cost, reports</th><th class="num">cost, telemetry</th><th class="num">apart</th><th class="num">margin</th>
              </tr>
            </thead>
            <tbody>
              {days.map((d) => (
                <tr>
                  <td>{d.date}</td>
                  <td>{d.claude_name}</td>
                  <td class="num">{tokens(d.report_tokens)}</td>
                  <td class="num">{tokens(d.telemetry_tokens)}</td>
                  <td class="num">{pct(d.tokens_diff_percent)}</td>
                  <td class="num">{usd(d.report_cost)}</td>
                  <td class="num">{usd(d.telemetry_cost)}</td>
                  <td class="num">{pct(d.cost_diff_percent)}</td>
                  <td class="num">{d.margin_percent}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Page>,
    );
  });
}
