import type { Hono } from "hono";
import { loadFamilyState } from "../../functions/advice/load.ts";
import { advise } from "../../functions/advice/policy.ts";
import type { ViewerDeps } from "./deps.ts";
import { localTime } from "./format.ts";
import { Page } from "./layout.tsx";

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A window's used % and projection at its reset as two bars against the target, in an inline SVG (no script, no request). */
function WindowBar({ used, projected, target }: { used: number; projected: number | null; target: number }) {
  const w = 240;
  const x = (p: number) => (Math.min(100, Math.max(0, p)) / 100) * w;
  return (
    <svg width={w} height="22" role="img" aria-label={`used ${used}%, projected ${projected ?? "unknown"}% at reset, target ${target}%`}>
      <rect x="0" y="2" width={w} height="18" fill="#eee" />
      {projected !== null ? <rect x="0" y="2" width={x(projected)} height="18" fill={projected >= target ? "#f4b183" : "#c5e0b4"} /> : null}
      <rect x="0" y="6" width={x(used)} height="10" fill="#4363d8" />
      <line x1={x(target)} x2={x(target)} y1="0" y2="22" stroke="#333" stroke-dasharray="3 2" />
    </svg>
  );
}

/**
 * The fair-share page: each agent's weight, its share of the last 24 hours
 * and 7 days against its fair share, the advice it gets now with the
 * reasons, and each quota window with its projection to the reset.
 */
export function registerFairShare(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;
  app.get("/fair-share", async (c) => {
    const now = deps.now().getTime();
    const state = await loadFamilyState(deps.db, now, deps.config);
    const total24h = state.agents.reduce((s, a) => s + a.auto24h, 0);
    const total7d = state.agents.reduce((s, a) => s + a.auto7d, 0);
    const rows = state.agents.map((a) => ({ agent: a, advice: advise(state, a.name, now) }));
    const windows = rows[0]?.advice.advice.windows ?? [];
    const target = state.settings.targetPercent;
    return c.html(
      <Page title="Fair share" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>Fair share</h1>
        <p class="muted">
          As of {localTime(now, tz)}: autonomous tokens by agent against each one's fair share (its weight over the active agents' weights),
          and the interval each is advised now. Change a weight or pause an agent with <code>runner invoke setAgent</code>.
        </p>
        <h2>Quota windows</h2>
        {windows.length === 0 ? (
          <p>No window is known yet: no report carried rate_limits, no reading was posted, and no budget is set (QUOTA_BUDGETS).</p>
        ) : (
          <table>
            <thead>
              <tr><th>window</th><th class="num">used</th><th>used, and projected at reset (dashed: target {target}%)</th><th class="num">projected</th><th>resets</th></tr>
            </thead>
            <tbody>
              {windows.map((w) => (
                <tr>
                  <td>{w.window}</td>
                  <td class="num">{w.used_percentage}%{w.estimated ? " (estimated)" : ""}</td>
                  <td><WindowBar used={w.used_percentage} projected={w.projected_at_reset} target={target} /></td>
                  <td class="num">{w.projected_at_reset === null ? "unknown" : `${w.projected_at_reset}%`}</td>
                  <td>{localTime(Date.parse(w.resets_at), tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h2>Agents</h2>
        <table>
          <thead>
            <tr>
              <th>agent</th><th class="num">weight</th><th class="num">fair share</th><th class="num">24 h</th><th class="num">7 days</th>
              <th class="num">advised interval</th><th>status</th><th>why</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ agent, advice }) => (
              <tr>
                <td>{agent.name}{agent.pausedUntil !== null && agent.pausedUntil > now ? ` (paused until ${localTime(agent.pausedUntil, tz)})` : ""}</td>
                <td class="num">{agent.weight}</td>
                <td class="num">{pct(advice.advice.fair_share)}</td>
                <td class="num">{total24h > 0 ? pct(agent.auto24h / total24h) : "-"}</td>
                <td class="num">{total7d > 0 ? pct(agent.auto7d / total7d) : "-"}</td>
                <td class="num">{advice.recommended_interval} s</td>
                <td>{advice.quota_status}</td>
                <td>{advice.advice.reasons.length === 0 ? <span class="muted">at its fair share, windows on course</span> : <ul>{advice.advice.reasons.map((r) => <li>{r}</li>)}</ul>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Page>,
    );
  });
}
