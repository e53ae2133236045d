import { mkdtempSync } from "node:fs"; import { tmpdir } from "node:os"; import { join } from "node:path";
import { parseConfig } from "./shared/config.ts";
import { createLogger } from "./runner/platform/log.ts";
import { openWhenFree } from "./runner/webhook/open-when-free.ts";
import { buildWebhook, webhookTimeoutMs } from "./runner/webhook/start.ts";
import { runHandler } from "./runner/platform/run-handler.ts";
import { dayStarts, localDay } from "./shared/time.ts";
import { sumDay } from "./functions/daySums.ts";
const dir = mkdtempSync(join(tmpdir(), "prof-"));
const tz = "Europe/Berlin";
const p = parseConfig({ DATABASE_URL: `file:${dir}/t.db`, RESOURCE_SHARE_TZ: tz, LOG_LEVEL: "error" }, () => "UTC");
if (!p.ok) throw new Error(p.message);
const log = createLogger("error", { out: process.stderr });
const { database, ready } = await openWhenFree(p.config, log, webhookTimeoutMs(p.config.databaseUrl));
const w = buildWebhook(p.config, database, log, { ready }); await ready;
const now = Date.now(); const [start] = dayStarts([localDay(new Date(now), tz)], tz); const span = now - 1000 - start!;
const reports = [];
for (let a = 0; a < 50; a++) for (let i = 0; i < 2880; i++) reports.push({ claude_name: `bench-agent-${a}`, mode: (a + i) % 3 === 0 ? "collaboration" : "autonomy", cache_read_increment: 1000 + i, cost_delta: a % 2 ? 0.01 : null, timestamp: new Date(start! + Math.floor((span * i) / 2880)).toISOString() });
for (let i = 0; i < reports.length; i += 5000) { const r = await w.app.request("/resource-share/increments", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(reports.slice(i, i + 5000)) }); if (r.status !== 200) throw new Error(await r.text()); }
const ctx = { db: database.db, now: () => new Date(), config: { timeZone: tz, replayWindowDays: 30 } };
for (let k = 0; k < 3; k++) {
  let t = performance.now(); await runHandler("summary", {}, ctx); console.log("summary", (performance.now() - t).toFixed(1));
  t = performance.now(); await sumDay(database.db, localDay(new Date(), tz), tz); console.log("sumDay", (performance.now() - t).toFixed(1));
  t = performance.now(); await runHandler("quota", {}, ctx); console.log("quota(no cache)", (performance.now() - t).toFixed(1));
  t = performance.now(); const r = await w.app.request("/metrics"); await r.text(); console.log("metrics", (performance.now() - t).toFixed(1));
}
const plan = await database.db.execute("EXPLAIN QUERY PLAN SELECT 1"); 
await w.close(); database.close();
