import { describe, expect, it } from "vitest";
import { viewerAt } from "../../support/apps.ts";
import { openTestDatabase } from "../../support/database.ts";

/** The viewer in-process over a small database, as `runner web` builds it. */
async function viewer() {
  const seeded = await openTestDatabase();
  await seeded.client.execute(
    "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Sparkle-Orange', '2026-11-27T10:00:00.000Z', 'autonomy', 5)",
  );
  return viewerAt(seeded.path, new Date("2026-11-28T12:00:00Z"));
}

/** A page's text with the quotes that HTML escaping writes as entities put back. */
const text = async (res: Response) => (await res.text()).replace(/&quot;/g, '"').replace(/&#39;/g, "'");

describe("the viewer's refusals", () => {
  const PAGES = [
    "/tables/resource_share_increments",
    "/tables/resource_share_increments/export/csv",
    "/tables/resource_share_increments/export/json",
    "/daily",
    "/daily/export/csv",
    "/daily/export/json",
  ];
  const IMPOSSIBLE = ["2026-13-01", "2026-00-10", "2026-02-30", "2026-04-31", "2025-02-29", "2026-11-00", "9999-99-99"];

  it.each(PAGES)("answers 400 naming the parameter to a day that does not exist on %s", async (page) => {
    const { app, close } = await viewer();
    for (const key of ["from", "to"]) {
      for (const day of IMPOSSIBLE) {
        const res = await app.request(`${page}?${key}=${day}`);
        expect(res.status, `${key}=${day}`).toBe(400);
        expect(await text(res), `${key}=${day}`).toContain(`"${key}" is not a real calendar day`);
      }
      const res = await app.request(`${page}?${key}=yesterday`);
      expect(res.status).toBe(400);
      expect(await text(res)).toContain(`"${key}" must be a date as YYYY-MM-DD`);
    }
    close();
  });

  it("still takes days that exist, a leap day included", async () => {
    const { app, close } = await viewer();
    for (const page of PAGES) {
      const res = await app.request(`${page}?from=2024-02-29&to=2026-11-28`);
      expect(res.status, page).toBe(200);
      await res.arrayBuffer();
    }
    close();
  });

  it("answers 403 with a page saying why to a write that does not come from the viewer's own pages", async () => {
    const { app, close } = await viewer();
    const writes: [string, RequestInit][] = [
      // curl -X POST localhost:8082/nope
      ["/nope", { method: "POST" }],
      // A login form posted by a script, and one posted from another site.
      ["/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "password=x" }],
      ["/logout", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example" }, body: "" }],
      ["/login", { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x", "sec-fetch-site": "cross-site" }, body: "--x--" }],
    ];
    for (const [path, init] of writes) {
      const res = await app.request(`http://127.0.0.1:8082${path}`, init);
      const body = await text(res);
      expect(res.status, path).toBe(403);
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(body, path).toContain("<title>Refused · Resource-Share</title>");
      expect(body, path).toContain("not sent from this viewer's own pages");
      expect(body, path).toContain("Origin: http://127.0.0.1:8082");
    }
    // The viewer's own form still goes through.
    const own = await app.request("http://127.0.0.1:8082/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://127.0.0.1:8082" },
      body: "password=x&next=/daily",
    });
    expect(own.status).toBe(303);
    close();
  });
});
