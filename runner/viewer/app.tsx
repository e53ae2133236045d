import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { Logger } from "../platform/log.ts";
import { registerAlerts } from "./alerts.tsx";
import { registerDaily } from "./daily.tsx";
import { registerDashboard } from "./dashboard.tsx";
import type { ViewerDeps } from "./deps.ts";
import { registerFairShare } from "./fair-share.tsx";
import { Page } from "./layout.tsx";
import { registerLogin } from "./login.tsx";
import { registerQuery } from "./console/page.tsx";
import { registerReports } from "./reports.tsx";
import { STYLE } from "./style.ts";
import { registerTables } from "./tables.tsx";
import { registerTelemetry } from "./telemetry.tsx";

/**
 * The viewer: server-rendered pages over a query-only connection. No page
 * has a script, so the policy forbids scripts outright and allows styles and
 * images from this origin only; nothing is fetched from elsewhere.
 */
export function createViewerApp(deps: ViewerDeps, log: Logger): Hono {
  const app = new Hono();
  const tz = deps.config.timeZone;
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: "same-origin",
      xFrameOptions: "DENY",
      // Plain HTTP on a LAN or loopback: a TLS-only promise would be wrong here.
      strictTransportSecurity: false,
    }),
  );
  app.use(bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text("The request body is too large.\n", 413) }));
  app.use(csrf());
  app.use(async (c, next) => {
    await next();
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  });
  app.get("/assets/style.css", (c) => {
    c.header("content-type", "text/css; charset=utf-8");
    c.header("cache-control", "max-age=300");
    return c.body(STYLE);
  });
  registerLogin(app, deps);
  app.use(deps.access.guard);
  registerDashboard(app, deps);
  registerTables(app, deps);
  registerDaily(app, deps);
  registerFairShare(app, deps);
  registerReports(app, deps);
  registerTelemetry(app, deps);
  registerAlerts(app, deps);
  registerQuery(app, deps);

  app.notFound((c) =>
    c.html(
      <Page title="Not found" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>Not found</h1>
        <p>There is no page at this address. Start from the <a href="/">dashboard</a> or the <a href="/tables">list of tables</a>.</p>
      </Page>,
      404,
    ),
  );
  app.onError((err, c) => {
    // hono's csrf() refuses a write whose Origin is not this viewer's by
    // throwing a 403; it is a refusal, not a fault.
    if (err instanceof HTTPException && err.status === 403) {
      const origin = new URL(c.req.url).origin;
      log.info(`viewer: ${c.req.method} ${c.req.path} refused: not sent from this viewer's pages (Origin: ${c.req.header("origin") ?? "none"})`);
      return c.html(
        <Page title="Refused" timeZone={tz} loggedIn={deps.access.enabled}>
          <h1>Refused</h1>
          <p class="error">
            This form was not sent from this viewer's own pages (its Origin header is missing or names another site), so it was refused and
            nothing was changed. Open the <a href="/">viewer</a> and use its forms; a script must send the header <code>Origin: {origin}</code>.
          </p>
        </Page>,
        403,
      );
    }
    log.error(`viewer: ${c.req.method} ${c.req.path} failed: ${err.message}`);
    return c.html(
      <Page title="Error" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>This page could not be shown</h1>
        <p class="error">The database did not answer as expected ({err.message}). Nothing was changed. Reload in a moment; if it persists, see the viewer's log.</p>
      </Page>,
      500,
    );
  });
  return app;
}
