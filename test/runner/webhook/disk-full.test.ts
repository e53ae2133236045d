import { rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { webhookApp } from "../../support/apps.ts";
import { sqlite3Rows } from "../../support/database.ts";
import { mountTmpfs, skipTmpfsTests } from "../../support/tmpfs.ts";

const free = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

describe.skipIf(skipTmpfsTests)("a disk that fills and is freed (a real tmpfs)", () => {
  it("answers 503 while full and /health says so, empties the WAL before the first write once space is freed, answers 200 again, and stores every 200 once", async () => {
    const dir = mountTmpfs("6m");
    const path = join(dir, "resource_tracking.db");
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC" });
    const post = (n: number) =>
      webhook.post("/resource-share/increment", { claude_name: `Agent-${n % 5}`, cache_read_increment: 1000 + n, mode: "autonomy", event_id: `e-${n}` });
    expect((await post(0)).status).toBe(200);
    const answered: number[] = [0];
    // All but some 200 KB taken by another file: the reports fill the rest.
    const filler = join(dir, "filler");
    writeFileSync(filler, Buffer.alloc(Math.max(0, free(dir) - 200 * 1024)));

    const refused: number[] = [];
    let n = 1;
    for (; n < 20_000 && refused.length === 0; n++) {
      const r = await post(n);
      if (r.status === 200) answered.push(n);
      else {
        expect(r.status).toBe(503);
        expect(r.body.error).toBe("unavailable");
        refused.push(n);
      }
    }
    expect(refused.length, "the disk never filled").toBe(1);
    // Tried before the 503 was answered; on a disk full to the last byte, copying the WAL in fails too (the file must grow).
    expect(webhook.output()).toMatch(/ERROR the disk is full: the database cannot take writes \(database or disk is full\); (its WAL was copied into the database file and truncated|emptying its WAL failed too)/);
    const walWhenFull = statSync(`${path}-wal`).size;
    const health = await webhook.request("/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "error", database: "disk full" });
    for (let i = 0; i < 3; i++, n++) {
      const r = await post(n);
      expect(r.status).toBe(503);
      refused.push(n);
    }

    rmSync(filler);
    expect((await post(n)).status).toBe(200);
    answered.push(n++);
    // The WAL was emptied before that write: it gave its space back instead of taking what was freed.
    expect(webhook.output()).toMatch(/its WAL was copied into the database file and truncated[^]*the disk has room again/);
    expect(statSync(`${path}-wal`).size).toBeLessThan(walWhenFull / 2);
    for (let i = 0; i < 20; i++, n++) {
      const r = await post(n);
      expect(r.status).toBe(200);
      answered.push(n);
    }
    expect((await webhook.request("/health")).status).toBe(200);
    await webhook.close();

    const stored = sqlite3Rows<{ event_id: string; n: number }>(path, "SELECT event_id, count(*) AS n FROM resource_share_increments GROUP BY event_id");
    expect(stored.every((r) => r.n === 1)).toBe(true);
    expect(stored.map((r) => r.event_id).sort()).toEqual(answered.map((i) => `e-${i}`).sort());
  });
});
