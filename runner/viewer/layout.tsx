import { raw } from "hono/html";
import type { Child } from "hono/jsx";

export interface PageOptions {
  title: string;
  timeZone: string;
  /** Show the "Log out" button (a password is set). */
  loggedIn?: boolean;
  children?: Child;
}

/** The frame every page shares: navigation, the family's time zone, no script. */
export function Page({ title, timeZone, loggedIn, children }: PageOptions) {
  // A constant, so raw() is safe here; without it browsers render in quirks mode.
  return (
    <>
      {raw("<!DOCTYPE html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Resource-Share`}</title>
        <link rel="stylesheet" href="/assets/style.css" />
      </head>
      <body>
        <header>
          <span class="brand">Resource-Share</span>
          <nav>
            <a href="/">Dashboard</a>
            <a href="/tables">Tables</a>
            <a href="/daily">Daily summaries</a>
            <a href="/reports/week">Reports</a>
            <a href="/fair-share">Fair share</a>
            <a href="/telemetry">Telemetry</a>
            <a href="/alerts">Alerts</a>
            <a href="/query">SQL</a>
            {loggedIn ? (
              <form method="post" action="/logout">
                <button class="link" type="submit">Log out</button>
              </form>
            ) : null}
          </nav>
          <span class="zone">
            Days and times in the family's time zone: <strong id="time-zone">{timeZone}</strong>
          </span>
        </header>
        <main>{children}</main>
      </body>
    </html>
    </>
  );
}

/** A cell value as people read it; NULL stays visibly distinct from "". */
export function Cell({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <td class="null">NULL</td>;
  if (typeof value === "number" || typeof value === "bigint") return <td class="num">{String(value)}</td>;
  if (value instanceof ArrayBuffer) return <td class="null">{`BLOB (${value.byteLength} bytes)`}</td>;
  const text = String(value);
  // Short values stay on one line (timestamps, names); long text wraps.
  return <td class={text.length > 40 ? "text" : undefined}>{text}</td>;
}
