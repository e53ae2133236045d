import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { viewerApp, type InProcessApp } from "../../../support/apps.ts";
import { openStore, type TestStore } from "../../../support/backends.ts";
import { sharedTempDir } from "../../../support/database.ts";

/**
 * The SQL console's three doors (the page and both downloads), served by
 * the viewer's own app, built as `runner web` builds it (real query
 * processes), on this pass's database: a call that reaches files is refused
 * with 403 by name, nothing is written, nothing is read; the reads people
 * run still work.
 */
describe("the SQL console's doors", () => {
  let store: TestStore;
  let viewer: InProcessApp;
  const folder = sharedTempDir("rs-console-doors-");
  const planted = join(folder.dir, "planted");
  // The machine's name is what /etc/hostname holds: it must not come back.
  const secret = hostname();

  beforeAll(async () => {
    store = await openStore();
    store.run("INSERT INTO claude_identities (name) VALUES ('Sparkle-Orange')");
    viewer = await viewerApp({ ...store.env, RESOURCE_SHARE_TZ: "UTC" });
    return async () => {
      await viewer.close();
      await store.stop();
    };
  });
  afterAll(() => folder.remove());

  const door = (path: string, sql: string) => viewer.request(`${path}?${new URLSearchParams({ sql }).toString()}`);
  const doors = ["/query", "/query/export/csv", "/query/export/json"];

  it.each(doors)("%s answers 403 to writefile() and the file is not created", async (path) => {
    const res = await door(path, `SELECT "WriteFile" /* spelled away */ ('${planted}', 'anything')`);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/The function writefile\(\) is not allowed in the SQL console, and nothing was read or written/);
    expect(existsSync(planted)).toBe(false);
  });

  it.each(doors)("%s answers 403 to readfile() and shows no content", async (path) => {
    const res = await door(path, "SELECT name, CAST([readfile]('/etc/hostname') AS TEXT) AS secret FROM claude_identities");
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toMatch(/The function readfile\(\) is not allowed/);
    expect(body).not.toContain(secret);
  });

  it.each(doors)("%s answers 403 to a directory listing through fsdir", async (path) => {
    writeFileSync(join(folder.dir, "listed-only-by-a-directory-listing"), "");
    const res = await door(path, `SELECT name FROM fsdir('${folder.dir}') ORDER BY name`);
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toMatch(/The table-valued function fsdir is not allowed in the SQL console/);
    expect(body).not.toContain("listed-only-by-a-directory-listing");
  });

  it("the page still runs the reads people run in the sqlite3 shell", async () => {
    const res = await door("/query", "SELECT name, json_object('n', name) AS j, date('2026-12-01', '+1 day') AS d FROM claude_identities");
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("Sparkle-Orange");
    expect(body).toContain("2026-12-02");
    const schema = await door("/query/export/json", "SELECT name FROM pragma_table_info('claude_identities') ORDER BY cid");
    expect(schema.status).toBe(200);
    expect(await schema.json()).toEqual(expect.arrayContaining([{ name: "name" }]));
  });
});
