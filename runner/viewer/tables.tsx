import type { Hono } from "hono";
import { quoteName, readCatalog, type TableInfo } from "./catalog.ts";
import { exportResponse, isExportFormat } from "./export.ts";
import { Cell, Page } from "./layout.tsx";
import { countRows, PAGE_SIZES, parseView, readPage, streamRows, type TableView } from "./rows.ts";
import type { ViewerDeps } from "./deps.ts";

/** A link to the same view with some settings changed; empty settings are left out. */
function viewHref(base: string, view: TableView, change: Partial<Record<string, string | number | undefined>> = {}): string {
  const p: Record<string, string | number | undefined> = {
    agent: view.agent, mode: view.mode, from: view.from, to: view.to,
    sort: view.sort, dir: view.sort === undefined ? (view.desc ? undefined : "asc") : view.desc ? "desc" : "asc",
    size: view.size === 50 ? undefined : view.size, page: view.page === 1 ? undefined : view.page, ...change,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

function Filters({ view, agents }: { view: TableView; agents: string[] }) {
  const t = view.table;
  return (
    <form class="filters" method="get" action={`/tables/${encodeURIComponent(t.name)}`}>
      {t.agentColumn ? (
        <label>
          Agent
          <input name="agent" list="agents" value={view.agent} placeholder="any" />
          <datalist id="agents">{agents.map((a) => <option value={a} />)}</datalist>
        </label>
      ) : null}
      {t.modeColumn ? (
        <label>
          Mode
          <select name="mode">
            <option value="" selected={view.mode === ""}>any</option>
            <option value="autonomy" selected={view.mode === "autonomy"}>autonomy</option>
            <option value="collaboration" selected={view.mode === "collaboration"}>collaboration</option>
          </select>
        </label>
      ) : null}
      {t.dayColumn ? (
        <>
          <label>
            From day
            <input type="date" name="from" value={view.from} />
          </label>
          <label>
            To day (included)
            <input type="date" name="to" value={view.to} />
          </label>
        </>
      ) : null}
      <label>
        Rows per page
        <select name="size">{PAGE_SIZES.map((s) => <option value={String(s)} selected={s === view.size}>{String(s)}</option>)}</select>
      </label>
      {view.sort !== undefined ? <input type="hidden" name="sort" value={view.sort} /> : null}
      {view.sort !== undefined || !view.desc ? <input type="hidden" name="dir" value={view.desc ? "desc" : "asc"} /> : null}
      <button type="submit">Apply</button>
      <a href={`/tables/${encodeURIComponent(t.name)}`}>Clear</a>
    </form>
  );
}

function Schema({ table }: { table: TableInfo }) {
  return (
    <>
      <h2 id="schema">Schema</h2>
      <div class="scroll">
        <table>
          <thead><tr><th>Column</th><th>Type</th><th>Not null</th><th>Default</th><th>Key</th></tr></thead>
          <tbody>
            {table.columns.map((c) => (
              <tr>
                <td>{c.name}</td>
                <td>{c.type}</td>
                <td>{c.notNull ? "yes" : ""}</td>
                <Cell value={c.defaultValue} />
                <td>{[c.primaryKey ? "primary key" : "", c.generated ? "generated" : ""].filter(Boolean).join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <pre class="scroll"><code>{table.sql}</code></pre>
    </>
  );
}

export function registerTables(app: Hono, deps: ViewerDeps): void {
  const { db } = deps;
  const tz = deps.config.timeZone;

  app.get("/tables", async (c) => {
    const catalog = await readCatalog(db);
    const counts = await Promise.all(catalog.map(async (t) => Number((await db.execute(`SELECT count(*) AS n FROM ${quoteName(t.name)}`)).rows[0]?.n ?? 0)));
    return c.html(
      <Page title="Tables" timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>Tables</h1>
        <div class="scroll">
          <table>
            <thead><tr><th>Table</th><th class="num">Rows</th><th>Columns</th></tr></thead>
            <tbody>
              {catalog.map((t, i) => (
                <tr>
                  <td><a href={`/tables/${encodeURIComponent(t.name)}`}>{t.name}</a></td>
                  <td class="num" data-table={t.name}>{counts[i]!.toLocaleString("en-US")}</td>
                  <td class="text">{t.columns.map((col) => col.name).join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Page>,
    );
  });

  const lookup = async (name: string) => (await readCatalog(db)).find((t) => t.name === name);

  app.get("/tables/:name", async (c) => {
    const table = await lookup(c.req.param("name"));
    if (!table) return c.notFound();
    const { view, problems } = parseView(table, c.req.query());
    const [total, matching, page, agents] = await Promise.all([
      db.execute(`SELECT count(*) AS n FROM ${quoteName(table.name)}`).then((r) => Number(r.rows[0]?.n ?? 0)),
      countRows(db, view, tz),
      readPage(db, view, tz),
      db.execute("SELECT name FROM claude_identities ORDER BY name").then((r) => r.rows.map((x) => String(x.name))),
    ]);
    const pages = Math.max(1, Math.ceil(matching / view.size));
    const base = `/tables/${encodeURIComponent(table.name)}`;
    const exportBase = `${base}/export/`;
    const sortLink = (col: string) =>
      viewHref(base, view, { sort: col, dir: view.sort === col && !view.desc ? "desc" : "asc", page: undefined });
    return c.html(
      <Page title={table.name} timeZone={tz} loggedIn={deps.access.enabled}>
        <h1>{table.name}</h1>
        {problems.map((p) => <p class="error">{p}</p>)}
        <p>
          <strong id="matching">{matching.toLocaleString("en-US")}</strong> of {total.toLocaleString("en-US")} rows match.
          {" "}Download this view: <a href={viewHref(`${exportBase}csv`, view, { page: undefined, size: undefined })}>CSV</a>
          {" · "}<a href={viewHref(`${exportBase}json`, view, { page: undefined, size: undefined })}>JSON</a>
          {" · "}<a href="#schema">schema</a>
        </p>
        <Filters view={view} agents={agents} />
        <div class="scroll">
          <table id="rows">
            <thead>
              <tr>
                {page.columns.map((col) => (
                  <th>
                    <a href={sortLink(col)} aria-sort={view.sort === col ? (view.desc ? "descending" : "ascending") : undefined}>
                      {col}
                      {view.sort === col ? (view.desc ? " ▼" : " ▲") : ""}
                    </a>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {page.rows.map((row) => <tr>{row.map((v) => <Cell value={v} />)}</tr>)}
            </tbody>
          </table>
        </div>
        <nav class="pager" aria-label="pages">
          {view.page > 1 ? <a href={viewHref(base, view, { page: undefined })}>« First</a> : null}
          {view.page > 1 ? <a rel="prev" href={viewHref(base, view, { page: view.page - 1 })}>‹ Previous</a> : null}
          <span id="page-of">Page {view.page} of {pages}</span>
          {view.page < pages ? <a rel="next" href={viewHref(base, view, { page: view.page + 1 })}>Next ›</a> : null}
          {view.page < pages ? <a href={viewHref(base, view, { page: pages })}>Last »</a> : null}
        </nav>
        <Schema table={table} />
      </Page>,
      problems.length ? 400 : 200,
    );
  });

  app.get("/tables/:name/export/:format", async (c) => {
    const format = c.req.param("format");
    const table = await lookup(c.req.param("name"));
    if (!table || !isExportFormat(format)) return c.notFound();
    const { view, problems } = parseView(table, c.req.query());
    if (problems.length) return c.text(`Not exported: ${problems.join(" ")}\n`, 400);
    return exportResponse(format, table.name, table.columns.map((col) => col.name), streamRows(deps.exportDb ?? db, view, tz));
  });
}
