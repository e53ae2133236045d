import { afterEach, describe, expect, it } from "vitest";
import { ALERT_RULES } from "../../../shared/alert-settings.ts";
import { openTestDatabase, sqlite3Rows } from "../../support/database.ts";
import { startReceiver, type Receiver } from "../../support/receivers.ts";
import { startRunner } from "../../support/server.ts";

const SECRET = "slack-secret-token";

async function until(what: string, check: () => boolean, timeoutMs = 40_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("alerts in the npm start process", { timeout: 120_000 }, () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.stop();
  });

  it("delivers after a restart a notification decided before the process was killed (SIGKILL) mid-delivery, and decides it only once", async () => {
    const store = await openTestDatabase();
    // An agent advised every 10 minutes that last reported two hours ago.
    const then = new Date(Date.now() - 2 * 3_600_000).toISOString();
    await store.db.execute({ sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval) VALUES ('Quiet-Teal', ?, 'autonomy', 5, 600)", args: [then] });
    await store.db.execute({ sql: "INSERT INTO claude_identities (name, first_seen, last_seen) VALUES ('Quiet-Teal', ?, ?)", args: [then, then] });
    store.close();

    receiver = await startReceiver();
    receiver.answer = "hang";
    const env = {
      DATABASE_URL: `file:${store.path}`,
      RESOURCE_SHARE_TZ: "UTC",
      WEB_HOST: "127.0.0.1",
      ALERT_EVERY: "5",
      ALERT_OFF: ALERT_RULES.filter((r) => r !== "silent_agent").join(","),
      ALERT_RECEIVERS: `slack=${receiver.url}/services/T1/B2/${SECRET}`,
      // Long enough for the kill below to land mid-send (checked: no attempt recorded), short so that the
      // killed process's claim (this plus 5 s) lapses soon.
      ALERT_SEND_TIMEOUT: "3",
    };
    const first = await startRunner("start", env);
    // Decided, committed with its outbox row, and being sent: the receiver holds the request open.
    await until("the first delivery attempt", () => receiver!.received.length === 1);
    await first.kill();
    expect(sqlite3Rows(store.path, "SELECT event, delivered_at, attempts, last_error FROM alert_outbox")).toEqual([{ event: "firing", delivered_at: null, attempts: 0, last_error: null }]);

    receiver.answer = { status: 200 };
    const second = await startRunner("start", env);
    // The claim of the killed process lapses (the send's timeout plus 5 s), then the restarted one delivers.
    await until("the delivery after the restart", () => receiver!.received.length === 2);
    await until("the outbox to say delivered", () => sqlite3Rows(store.path, "SELECT 1 FROM alert_outbox WHERE delivered_at IS NOT NULL").length === 1, 10_000);
    expect(JSON.parse(receiver.received[1]!.body).text).toMatch(/^\[FIRING\] silent_agent \(Quiet-Teal\): Quiet-Teal has not reported since /);
    // Decided once: one alert, one notification, for all the rounds of both processes.
    expect(sqlite3Rows(store.path, "SELECT rule, subject, state FROM alerts")).toEqual([{ rule: "silent_agent", subject: "Quiet-Teal", state: "firing" }]);
    expect(sqlite3Rows(store.path, "SELECT count(*) AS n FROM alert_outbox")).toEqual([{ n: 1 }]);

    const health = (await (await fetch(`${second.url}/health`)).json()) as { alerts: unknown };
    expect(health.alerts).toEqual({
      firing: 1,
      receivers: [{ receiver: `slack=${receiver.url}/services/T1/B2/***`, pending: 0, delivered: 1, refused: 0, last_delivered_at: expect.any(String), last_error: null }],
    });
    const listed = (await (await fetch(`${second.url}/resource/alerts?rule=silent_agent`)).json()) as { firing: { subject: string }[] };
    expect(listed.firing.map((a) => a.subject)).toEqual(["Quiet-Teal"]);
    expect(first.output() + second.output()).not.toContain(SECRET);
  });
});
