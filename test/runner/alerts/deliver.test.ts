import { afterEach, describe, expect, it } from "vitest";
import { alerts } from "../../../functions/alerts.ts";
import { receiverStatus } from "../../../functions/alerts/list.ts";
import { alertsCycle } from "../../../runner/alerts/cycle.ts";
import { deliverDue } from "../../../runner/alerts/deliver.ts";
import { machineZone } from "../../../runner/platform/environment.ts";
import type { Logger } from "../../../runner/platform/log.ts";
import { ALERT_RULES, DEFAULT_ALERTS, parseReceivers, type Receiver as ReceiverSetting } from "../../../shared/alert-settings.ts";
import { parseConfig } from "../../../shared/config.ts";
import type { Db } from "../../../shared/context.ts";
import { testContext } from "../../support/context.ts";
import { openTestDatabase } from "../../support/database.ts";
import { startReceiver, type Receiver } from "../../support/receivers.ts";

const T0 = Date.parse("2026-12-02T12:00:00.000Z");
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const VIEWER = "http://127.0.0.1:8082/alerts";

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.stop();
});
async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR"), flush: () => {} };
}

function configured(text: string): ReceiverSetting[] {
  const parsed = parseReceivers(text);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

/** An agent silent since T0 (advised every 10 minutes), and the evaluation that decides so at `at`. */
async function silentAgent(db: Db, list: ReceiverSetting[], at = T0 + 31 * MIN) {
  await db.execute({ sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval) VALUES ('Quiet-Teal', ?, 'autonomy', 5, 600)", args: [iso(T0)] });
  await db.execute({ sql: "INSERT INTO claude_identities (name, first_seen, last_seen) VALUES ('Quiet-Teal', ?, ?)", args: [iso(T0), iso(T0)] });
  const silentAgentOnly = { ...DEFAULT_ALERTS, off: ALERT_RULES.filter((r) => r !== "silent_agent"), receivers: list };
  const evaluate = async (when: number) => {
    const result = await alerts({}, testContext(db, { now: when, alerts: silentAgentOnly }));
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  };
  await evaluate(at);
  return evaluate;
}

describe("alert delivery to real receivers on loopback", () => {
  it("posts each shape as its receiver expects it, field by field", async () => {
    const { db } = await openTestDatabase();
    const r = await receiver();
    const list = configured(`alertmanager=${r.url}/am,ntfy=${r.url}/family-alerts,discord=${r.url}/api/webhooks/123/disc-secret,slack=${r.url}/services/T1/B2/slack-secret`);
    await silentAgent(db, list);
    const report = await deliverDue(db, list, recordingLog(), { now: () => new Date(T0 + 31 * MIN), viewerUrl: VIEWER });
    expect(report).toEqual({ delivered: 4, refused: 0, retrying: 0 });
    const by = (path: string) => r.received.filter((x) => x.path === path);
    const summary = "Quiet-Teal has not reported since 2026-12-02T12:00:00.000Z (expected every 10 min, silent after 30 min)";

    const [am] = by("/am");
    expect(am!.headers["content-type"]).toBe("application/json");
    const labels = { alertname: "silent_agent", subject: "Quiet-Teal", service: "resource-share" };
    expect(JSON.parse(am!.body)).toEqual({
      version: "4",
      groupKey: '{}:{alertname="silent_agent",subject="Quiet-Teal"}',
      truncatedAlerts: 0,
      status: "firing",
      receiver: "resource-share",
      groupLabels: { alertname: "silent_agent" },
      commonLabels: labels,
      commonAnnotations: { summary },
      externalURL: VIEWER,
      alerts: [{
        status: "firing",
        labels,
        annotations: { summary },
        startsAt: iso(T0 + 31 * MIN),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: VIEWER,
        fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      }],
    });

    const [ntfy] = by("/family-alerts");
    expect(ntfy!.body).toBe(summary);
    expect([ntfy!.headers.title, ntfy!.headers.tags, ntfy!.headers.priority]).toEqual(["[FIRING] silent_agent (Quiet-Teal)", "warning", "high"]);

    const [discord] = by("/api/webhooks/123/disc-secret");
    expect(JSON.parse(discord!.body)).toEqual({ content: `[FIRING] silent_agent (Quiet-Teal): ${summary}` });
    const [slack] = by("/services/T1/B2/slack-secret");
    expect(JSON.parse(slack!.body)).toEqual({ text: `[FIRING] silent_agent (Quiet-Teal): ${summary}` });
    expect(r.received).toHaveLength(4);
  });

  it("tells Alertmanager a resolved alert with its end time", async () => {
    const { db } = await openTestDatabase();
    const r = await receiver();
    const list = configured(`alertmanager=${r.url}/am`);
    const evaluate = await silentAgent(db, list);
    await db.execute({ sql: "UPDATE claude_identities SET last_seen = ?", args: [iso(T0 + 40 * MIN)] });
    await evaluate(T0 + 41 * MIN);
    await deliverDue(db, list, recordingLog(), { now: () => new Date(T0 + 41 * MIN), viewerUrl: VIEWER });
    const bodies = r.received.map((x) => JSON.parse(x.body));
    expect(bodies.map((b) => [b.status, b.alerts[0].status, b.alerts[0].endsAt])).toEqual([
      ["firing", "firing", "0001-01-01T00:00:00Z"],
      ["resolved", "resolved", iso(T0 + 41 * MIN)],
    ]);
  });

  it("delivers to a receiver that was down exactly once after it is back, trying again only after a back-off", async () => {
    const { db } = await openTestDatabase();
    const r = await receiver();
    const list = configured(`slack=${r.url}/services/T1/B2/slack-secret`);
    await r.stop();
    await silentAgent(db, list);
    const log = recordingLog();
    const at = (ms: number) => ({ now: () => new Date(ms) });
    expect(await deliverDue(db, list, log, at(T0 + 31 * MIN))).toEqual({ delivered: 0, refused: 0, retrying: 1 });
    expect(log.lines.join("\n")).toMatch(/WARN alert receiver slack=http:\/\/127\.0\.0\.1:\d+\/services\/T1\/B2\/\*\*\* could not take a notification \(ECONNREFUSED\); trying again at/);
    await r.start();
    // Not hammered: before its back-off (30 s) nothing is sent.
    expect(await deliverDue(db, list, log, at(T0 + 31 * MIN + 10_000))).toEqual({ delivered: 0, refused: 0, retrying: 0 });
    expect(r.received).toHaveLength(0);
    expect(await deliverDue(db, list, log, at(T0 + 32 * MIN))).toEqual({ delivered: 1, refused: 0, retrying: 0 });
    expect(await deliverDue(db, list, log, at(T0 + 40 * MIN))).toEqual({ delivered: 0, refused: 0, retrying: 0 });
    expect(r.received).toHaveLength(1);
    expect((await receiverStatus(db))[0]).toMatchObject({ pending: 0, delivered: 1, refused: 0 });
  });

  it("does not hammer a receiver that refuses a well-formed message (4xx): the log and the status say so, without its secret", async () => {
    const { db } = await openTestDatabase();
    const r = await receiver();
    r.answer = { status: 404 };
    const list = configured(`discord=http://user:pa55@127.0.0.1:${r.port}/api/webhooks/123/disc-secret?token=q-secret`);
    await silentAgent(db, list);
    const log = recordingLog();
    expect(await deliverDue(db, list, log, { now: () => new Date(T0 + 31 * MIN) })).toEqual({ delivered: 0, refused: 1, retrying: 0 });
    expect(await deliverDue(db, list, log, { now: () => new Date(T0 + 5 * 60 * MIN) })).toEqual({ delivered: 0, refused: 0, retrying: 0 });
    expect(r.received).toHaveLength(1);
    // The URL's credentials went as basic auth (fetch refuses them in the URL).
    expect(r.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from("user:pa55").toString("base64")}`);
    const status = await receiverStatus(db);
    expect(status).toEqual([{
      receiver: `discord=http://***@127.0.0.1:${r.port}/api/webhooks/123/***?token=***`,
      pending: 0, delivered: 0, refused: 1, last_delivered_at: null, last_error: "HTTP 404: no such webhook",
    }]);
    expect(log.lines.join("\n")).toContain(`ERROR alert receiver discord=http://***@127.0.0.1:${r.port}/api/webhooks/123/***?token=*** refused a notification (HTTP 404: no such webhook)`);
    const shown = JSON.stringify({ status, lines: log.lines });
    for (const secret of ["pa55", "disc-secret", "q-secret"]) expect(shown).not.toContain(secret);
  });

  it("waits on a receiver as long as ALERT_SEND_TIMEOUT says, its notification claimed meanwhile for that long plus 5 s", async () => {
    const { db } = await openTestDatabase();
    const r = await receiver();
    r.answer = "hang";
    const parsed = parseConfig(
      { ALERT_RECEIVERS: `slack=${r.url}/services/T1/B2/slack-secret`, ALERT_OFF: ALERT_RULES.filter((rule) => rule !== "silent_agent").join(","), ALERT_SEND_TIMEOUT: "30" },
      machineZone,
    );
    if (!parsed.ok) throw new Error(parsed.message);
    const at = T0 + 31 * MIN;
    await silentAgent(db, parsed.config.alerts.receivers, at);
    // The round the schedule and `runner alerts` run, its send held open by the receiver.
    const round = alertsCycle(db, parsed.config, recordingLog(), { now: () => new Date(at) });
    await expect.poll(() => r.received.length).toBe(1);
    const claimed = await db.execute("SELECT next_attempt_at FROM alert_outbox");
    expect(claimed.rows.map((row) => row.next_attempt_at)).toEqual([iso(at + 30_000 + 5_000)]);
    // The receiver goes away: the send fails and is tried again later.
    await r.stop();
    expect((await round).delivery).toEqual({ delivered: 0, refused: 0, retrying: 1 });
  });
});
