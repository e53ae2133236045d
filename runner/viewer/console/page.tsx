import type { Hono } from "hono";
import type { ViewerDeps } from "../deps.ts";
import { exportResponse, isExportFormat } from "../export.ts";
import { Cell, Page } from "../layout.tsx";
import { QUERY_ROW_CAP, QUERY_TIME_LIMIT_MS } from "./query-runner.ts";

/** Rows shown on the page; downloads carry up to the full row cap. */
const SHOWN = 1000;

const EXAMPLES = [
  "SELECT claude_name, mode, sum(cache_read_increment) AS tokens\nFROM resource_share_increments\nGROUP BY claude_name, mode\nORDER BY tokens DESC",
  "SELECT * FROM daily_resource_share ORDER BY date DESC, claude_name LIMIT 50",
  "SELECT name, type FROM pragma_table_info('resource_share_increments')",
];

export function registerQuery(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;

  app.get("/query", async (c) => {
    const sql = c.req.query("sql") ?? "";
    const result = sql.trim() ? await deps.runQuery(sql) : undefined;
    // The person is about to type a query: have its process loaded by then.
    deps.warmQueries?.();
    const link = (format: string) => `/query/export/${format}?${new URLSearchParams({ sql }).toString()}`;
    return c.html(
      <Page title="SQL" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>SQL console</h1>
        <p class="muted">
          Read-only: SELECT, WITH and VALUES only, stopped after {QUERY_TIME_LIMIT_MS / 1000} s and
          {" "}{QUERY_ROW_CAP.toLocaleString("en-US")} rows. Times in the tables are UTC.
        </p>
        <form method="get" action="/query">
          <textarea name="sql" aria-label="SQL" spellcheck={false}>{sql}</textarea>
          <p><button type="submit">Run</button></p>
        </form>
        {result === undefined ? (
          <>
            <h2>Examples</h2>
            <ul>{EXAMPLES.map((e) => <li><a href={`/query?${new URLSearchParams({ sql: e }).toString()}`}><code>{e}</code></a></li>)}</ul>
          </>
        ) : result.ok ? (
          <>
            <p>
              <strong id="result-count">{result.rows.length.toLocaleString("en-US")}</strong> rows
              {result.truncated ? ` (stopped at the cap of ${QUERY_ROW_CAP.toLocaleString("en-US")})` : ""}
              {result.rows.length > SHOWN ? `; the first ${SHOWN} are shown, the downloads have all` : ""}.
              {" "}Download: <a href={link("csv")}>CSV</a> · <a href={link("json")}>JSON</a>
            </p>
            <div class="scroll">
              <table id="result">
                <thead><tr>{result.columns.map((col) => <th>{col}</th>)}</tr></thead>
                <tbody>{result.rows.slice(0, SHOWN).map((row) => <tr>{row.map((v) => <Cell value={v} />)}</tr>)}</tbody>
              </table>
            </div>
          </>
        ) : (
          <p class="error" id="query-error" role="alert">{result.message}</p>
        )}
      </Page>,
      result && !result.ok ? (result.refused ? 403 : 400) : 200,
    );
  });

  app.get("/query/export/:format", async (c) => {
    const format = c.req.param("format");
    if (!isExportFormat(format)) return c.notFound();
    const result = await deps.runQuery(c.req.query("sql") ?? "");
    if (!result.ok) return c.text(`${result.message}\n`, result.refused ? 403 : 400);
    async function* once() {
      yield result.ok ? result.rows : [];
    }
    return exportResponse(format, "query", result.columns, once());
  });
}
