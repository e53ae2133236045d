import type { Hono } from "hono";
import type { AlertView } from "../../functions/alerts/list.ts";
import { ALERT_RULES } from "../../shared/alert-settings.ts";
import type { Db } from "../../shared/context.ts";
import { runHandler } from "../platform/run-handler.ts";
import type { ViewerDeps } from "./deps.ts";
import { localTime } from "./format.ts";
import { Page } from "./layout.tsx";

function AlertRows({ alerts, timeZone, id }: { alerts: AlertView[]; timeZone: string; id: string }) {
  return (
    <div class="scroll">
      <table id={id}>
        <thead><tr><th>state</th><th>rule</th><th>subject</th><th>since</th><th>resolved</th><th>what</th></tr></thead>
        <tbody>
          {alerts.map((a) => (
            <tr data-rule={a.rule} data-subject={a.subject} data-state={a.state}>
              <td>{a.state === "firing" ? <span class="firing">firing</span> : "resolved"}</td>
              <td>{a.rule}</td>
              <td class="text">{a.subject}</td>
              <td>{localTime(Date.parse(a.since), timeZone)}</td>
              <td>{a.resolved_at === null ? "" : localTime(Date.parse(a.resolved_at), timeZone)}</td>
              <td class="text">{a.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** How many alerts fire now: the dashboard's banner. */
export async function firingCount(db: Db): Promise<number> {
  const rs = await db.execute("SELECT count(*) AS n FROM alerts WHERE state = 'firing'");
  return Number(rs.rows[0]!.n);
}

/** The banner every page could carry; the dashboard does, linking here. */
export function FiringBanner({ count }: { count: number }) {
  if (count === 0) return null;
  return (
    <p class="alert-banner" id="alert-banner">
      <a href="/alerts">{count === 1 ? "1 alert is firing" : `${count} alerts are firing`}</a>: see what and since when.
    </p>
  );
}

/**
 * The alerts page: what fires now, then the latest episodes, filtered by
 * rule and subject (an agent, a window, "service"); the receivers'
 * delivery by their redacted URL. Read through listAlerts, as
 * GET /resource/alerts is.
 */
export function registerAlerts(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;
  app.get("/alerts", async (c) => {
    const rule = c.req.query("rule") ?? "";
    const subject = c.req.query("subject") ?? "";
    const input = { ...(rule ? { rule } : {}), ...(subject ? { subject } : {}) };
    const result = await runHandler("listAlerts", input, { db: deps.db, now: deps.now, config: deps.config });
    const subjects = await deps.db.execute("SELECT DISTINCT subject FROM alerts ORDER BY subject");
    const list = result.ok ? result.value : undefined;
    return c.html(
      <Page title="Alerts" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>Alerts</h1>
        <form class="filters" method="get" action="/alerts">
          <label>rule
            <select name="rule">
              <option value="">all</option>
              {ALERT_RULES.map((r) => <option value={r} selected={r === rule}>{r}</option>)}
            </select>
          </label>
          <label>agent or subject
            <select name="subject">
              <option value="">all</option>
              {subjects.rows.map((r) => String(r.subject)).map((s) => <option value={s} selected={s === subject}>{s}</option>)}
            </select>
          </label>
          <button type="submit">Show</button>
        </form>
        {!list ? <p class="error">{result.ok ? "" : result.error.message}</p> : (
          <>
            <h2>Firing now</h2>
            {list.firing.length === 0 ? <p class="muted" id="none-firing">Nothing fires{rule || subject ? " for this filter" : ""}.</p> : <AlertRows alerts={list.firing} timeZone={tz} id="firing" />}
            <h2>History <span class="muted">(latest 100)</span></h2>
            {list.history.length === 0 ? <p class="muted">No alert yet.</p> : <AlertRows alerts={list.history} timeZone={tz} id="history" />}
            <h2>Receivers</h2>
            {list.receivers.length === 0 ? (
              <p class="muted">No notification was queued yet (ALERT_RECEIVERS lists where they go; see docs/alerts.md).</p>
            ) : (
              <div class="scroll">
                <table id="receivers">
                  <thead><tr><th>receiver</th><th class="num">waiting</th><th class="num">delivered</th><th class="num">refused</th><th>last delivered</th><th>last error</th></tr></thead>
                  <tbody>
                    {list.receivers.map((r) => (
                      <tr>
                        <td class="text">{r.receiver}</td>
                        <td class="num">{r.pending}</td>
                        <td class="num">{r.delivered}</td>
                        <td class="num">{r.refused}</td>
                        <td>{r.last_delivered_at === null ? "" : localTime(Date.parse(r.last_delivered_at), tz)}</td>
                        <td class="text">{r.last_error ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Page>,
    );
  });
}
