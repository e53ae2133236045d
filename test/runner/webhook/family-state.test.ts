import { describe, expect, it } from "vitest";
import type { Db } from "../../../shared/context.ts";
import { familyStateCache } from "../../../runner/webhook/family-state.ts";
import { createLogger } from "../../../runner/platform/log.ts";
import { testConfig } from "../../support/context.ts";
import { openTestDatabase } from "../../support/database.ts";

const config = testConfig();

describe("the webhook's family state in memory", () => {
  it("gives reads a state with the webhook's own commits in it", async () => {
    const db = await openTestDatabase();
    const cache = familyStateCache(db.db, config, createLogger("error"));
    expect((await cache.get()).agents).toEqual([]);
    await db.db.execute("INSERT INTO claude_identities (name, last_seen) VALUES ('Fresh-Agent', '2026-12-05T10:00:00.000Z')");
    cache.committed();
    expect((await cache.fresh()).agents.map((a) => a.name)).toEqual(["Fresh-Agent"]);
  });

  it("answers with an empty state, not a fault, while the database cannot be read, and says so once", async () => {
    const lines: string[] = [];
    const broken = { execute: () => Promise.reject(new Error("SQLITE_IOERR: disk I/O error")), batch: () => Promise.reject(new Error("SQLITE_IOERR")) } as unknown as Db;
    const log = { ...createLogger("debug"), warn: (m: string) => lines.push(m), info: () => {}, error: () => {}, debug: () => {} };
    const cache = familyStateCache(broken, config, log as any);
    expect(await cache.get()).toMatchObject({ agents: [], windows: [] });
    expect(await cache.fresh()).toMatchObject({ agents: [], windows: [] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot load the family's usage for the fair-share advice \(SQLITE_IOERR: disk I\/O error\)/);
  });
});
