import { appendFileSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { IncrementRow } from "../../../functions/report.ts";
import { Spool } from "../../../runner/webhook/spool.ts";
import { tempDir } from "../../support/database.ts";

const row = (tokens: number, event_id: string | null = null): IncrementRow => ({
  claude_name: "Spool-Agent",
  timestamp: "2026-11-28T10:00:00.000Z",
  mode: "autonomy",
  cache_read_increment: tokens,
  context_percentage: null,
  cost_delta: null,
  event_id,
  received_at: "2026-11-28T10:00:00.000Z",
  host: null,
});

describe("the spool file", () => {
  it("keeps concurrent appends in order, each on its own line, and gives rows without an event id one", async () => {
    const path = join(tempDir(), "db.spool");
    const spool = new Spool(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => spool.append([row(i, i % 2 ? `client-${i}` : null)])));
    await spool.append([row(100), row(101)]);
    expect(spool.backlog).toBe(52);
    await spool.close();

    const again = new Spool(path);
    expect(again.load()).toEqual({ unreadable: 0 });
    expect(again.entries.map((e) => e.rows.map((r) => r.cache_read_increment))).toEqual([...Array.from({ length: 50 }, (_, i) => [i]), [100, 101]]);
    const ids = again.entries.flatMap((e) => e.rows.map((r) => r.event_id));
    expect(ids.filter((id) => id?.startsWith("client-"))).toHaveLength(25);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("drops a torn last line (a write that was never acknowledged) and appends after it cleanly", async () => {
    const path = join(tempDir(), "db.spool");
    const first = new Spool(path);
    await first.append([row(1)]);
    await first.close();
    appendFileSync(path, '{"rows":[{"claude_name":"Spool-Ag'); // the process died mid-write

    const second = new Spool(path);
    expect(second.load()).toEqual({ unreadable: 0 });
    expect(second.entries).toHaveLength(1);
    await second.append([row(2)]);
    await second.close();
    const third = new Spool(path);
    third.load();
    expect(third.entries.map((e) => e.rows[0]!.cache_read_increment)).toEqual([1, 2]);
  });

  it("skips an unreadable line in the middle but keeps a copy of the whole file for a person", async () => {
    const dir = tempDir();
    const path = join(dir, "db.spool");
    const first = new Spool(path);
    await first.append([row(1)]);
    appendFileSync(path, "garbage that is not an entry\n");
    await first.append([row(3)]);
    await first.close();
    const before = readFileSync(path, "utf8");

    const second = new Spool(path);
    const loaded = second.load();
    expect(loaded.unreadable).toBe(1);
    expect(second.entries.map((e) => e.rows[0]!.cache_read_increment)).toEqual([1, 3]);
    expect(readFileSync(loaded.copy!, "utf8")).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(["db.spool", loaded.copy!.slice(dir.length + 1)].sort());
  });

  it("empties the file only when every entry is applied and nothing is being appended", async () => {
    const path = join(tempDir(), "db.spool");
    const spool = new Spool(path);
    await spool.append([row(1)]);
    expect(await spool.emptyIfDrained()).toBe(false);
    spool.applied(1);
    const late = spool.append([row(2)]); // arrives while the drain finishes
    expect(await spool.emptyIfDrained()).toBe(false);
    await late;
    expect(statSync(path).size).toBeGreaterThan(0);
    spool.applied(1);
    expect(await spool.emptyIfDrained()).toBe(true);
    expect(statSync(path).size).toBe(0);
    await spool.close();
  });

  it("rejects an append it cannot make durable, and is usable again once the cause is gone", async () => {
    const dir = tempDir();
    const spool = new Spool(join(dir, "gone", "db.spool"));
    await expect(spool.append([row(1)])).rejects.toThrow(/cannot write the spool file/);
    expect(spool.busy).toBe(false);
    expect(spool.backlog).toBe(0);
  });
});
