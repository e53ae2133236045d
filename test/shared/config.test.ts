import { describe, expect, it } from "vitest";
import { DEFAULT_ADVICE } from "../../shared/advice-settings.ts";
import { DEFAULT_ALERTS } from "../../shared/alert-settings.ts";
import { DEFAULT_DATABASE_URL, parseConfig } from "../../shared/config.ts";

const ZONE = "Europe/London";
const machineZone = () => ZONE;

describe("parseConfig", () => {
  it("works out of the box: every setting has its documented default", () => {
    expect(parseConfig({}, machineZone)).toEqual({
      ok: true,
      config: {
        databaseUrl: "file:data/resource_tracking.db",
        databaseAuthToken: undefined,
        host: "127.0.0.1",
        port: 8765,
        webHost: "127.0.0.1",
        webPort: 8082,
        webPassword: undefined,
        timeZone: ZONE,
        logLevel: "info",
        replayWindowDays: 30,
        spoolDir: undefined,
        requireTokens: false,
        durability: "normal",
        advice: DEFAULT_ADVICE,
        telemetryMarginPercent: 5,
        alerts: DEFAULT_ALERTS,
      },
    });
    expect(DEFAULT_DATABASE_URL).toBe("file:data/resource_tracking.db");
  });

  it("treats empty variables as unset (systemd's Environment=NAME=)", () => {
    const parsed = parseConfig({ PORT: "", DATABASE_URL: "", RESOURCE_SHARE_TZ: "", LOG_LEVEL: "" }, machineZone);
    expect(parsed).toMatchObject({ ok: true, config: { port: 8765, databaseUrl: DEFAULT_DATABASE_URL, timeZone: ZONE, logLevel: "info" } });
  });

  it("asks for the machine's zone only when RESOURCE_SHARE_TZ is unset", () => {
    let asked = 0;
    const counted = () => {
      asked++;
      return "Asia/Tokyo";
    };
    expect(parseConfig({ RESOURCE_SHARE_TZ: "America/New_York" }, counted)).toMatchObject({ ok: true, config: { timeZone: "America/New_York" } });
    expect(asked).toBe(0);
    expect(parseConfig({}, counted)).toMatchObject({ ok: true, config: { timeZone: "Asia/Tokyo" } });
    expect(asked).toBe(1);
  });

  it("takes every variable it documents", () => {
    const parsed = parseConfig(
      {
        DATABASE_URL: "libsql://db.example.org",
        DATABASE_AUTH_TOKEN: "tok",
        HOST: "0.0.0.0",
        PORT: "9000",
        WEB_HOST: "::1",
        WEB_PORT: "9001",
        WEB_PASSWORD: "pw",
        RESOURCE_SHARE_TZ: "America/New_York",
        LOG_LEVEL: "debug",
        RESOURCE_SHARE_REPLAY_DAYS: "7",
        SPOOL_DIR: "/var/spool/resource-share",
        REQUIRE_TOKENS: "1",
        DURABILITY: "full",
        ADVICE_BASE_INTERVAL: "1200",
        ADVICE_MIN_INTERVAL: "60",
        ADVICE_MAX_INTERVAL: "7200",
        QUOTA_TARGET_PERCENT: "85",
        ADVICE_WORK_HOURS: "Sat-Mon 08:30-12:00",
        QUOTA_BUDGETS: "seven_day=200000000, five_hour=$20.5",
        QUOTA_WEEKLY_RESET: "Thu 18:00",
        TELEMETRY_MARGIN_PERCENT: "12.5",
        ALERT_RECEIVERS: "ntfy=https://ntfy.sh/family",
        ALERT_OFF: "unusual_report",
        ALERT_EVERY: "30",
        ALERT_REMIND: "0",
        ALERT_SILENT_FACTOR: "5",
        ALERT_USAGE_FACTOR: "10",
        ALERT_WINDOW_THRESHOLDS: "90,80",
        ALERT_SPOOL_AGE: "600",
        ALERT_SEND_TIMEOUT: "20",
        UNRELATED: "ignored",
      },
      machineZone,
    );
    expect(parsed).toEqual({
      ok: true,
      config: {
        databaseUrl: "libsql://db.example.org",
        databaseAuthToken: "tok",
        host: "0.0.0.0",
        port: 9000,
        webHost: "::1",
        webPort: 9001,
        webPassword: "pw",
        timeZone: "America/New_York",
        logLevel: "debug",
        replayWindowDays: 7,
        spoolDir: "/var/spool/resource-share",
        requireTokens: true,
        durability: "full",
        advice: {
          baseInterval: 1200,
          minInterval: 60,
          maxInterval: 7200,
          targetPercent: 85,
          workHours: { days: [0, 1, 6], from: 510, to: 720 },
          budgets: [
            { window: "seven_day", amount: 200000000, unit: "tokens" },
            { window: "five_hour", amount: 20.5, unit: "usd" },
          ],
          weeklyReset: { weekday: 4, minutes: 1080 },
        },
        telemetryMarginPercent: 12.5,
        alerts: {
          off: ["unusual_report"],
          everySeconds: 30,
          remindSeconds: 0,
          silentFactor: 5,
          usageFactor: 10,
          windowThresholds: [80, 90],
          spoolAgeSeconds: 600,
          sendTimeoutSeconds: 20,
          receivers: [{ shape: "ntfy", url: "https://ntfy.sh/family", key: "ntfy=https://ntfy.sh/family" }],
        },
      },
    });
  });

  // [variable, bad value]
  const bad: [string, string][] = [
    ["PORT", "http"],
    ["PORT", "65536"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["PORT", "0"],
    ["WEB_PORT", "eighty"],
    ["WEB_PORT", "0"],
    ["HOST", "999.1.1.1"],
    ["HOST", "10.0.1"],
    ["HOST", "not a host"],
    ["HOST", "::g"],
    ["WEB_HOST", "192.168.1.256"],
    ["DURABILITY", "fsync"],
    ["DURABILITY", "FULL"],
    ["RESOURCE_SHARE_TZ", "Mars/Olympus_Mons"],
    ["LOG_LEVEL", "verbose"],
    ["RESOURCE_SHARE_REPLAY_DAYS", "0"],
    ["RESOURCE_SHARE_REPLAY_DAYS", "a week"],
    ["RESOURCE_SHARE_REPLAY_DAYS", "3651"],
    ["DATABASE_URL", "data/resource_tracking.db"],
    ["REQUIRE_TOKENS", "yes"],
    ["ADVICE_BASE_INTERVAL", "0"],
    ["ADVICE_MIN_INTERVAL", "5 minutes"],
    ["ADVICE_MAX_INTERVAL", "999999999"],
    ["QUOTA_TARGET_PERCENT", "101"],
    ["ADVICE_WORK_HOURS", "weekdays 9 to 5"],
    ["ADVICE_WORK_HOURS", "Mon-Fri 18:00-09:00"],
    ["QUOTA_BUDGETS", "monthly=100"],
    ["QUOTA_BUDGETS", "seven_day=-5"],
    ["QUOTA_WEEKLY_RESET", "Funday 00:00"],
    ["TELEMETRY_MARGIN_PERCENT", "-1"],
    ["TELEMETRY_MARGIN_PERCENT", "101"],
    ["TELEMETRY_MARGIN_PERCENT", "5%"],
    ["ALERT_SEND_TIMEOUT", "0"],
    ["ALERT_SEND_TIMEOUT", "10s"],
    ["ALERT_SEND_TIMEOUT", "301"],
  ];

  it.each(bad)("%s=%j is refused with one line naming the variable", (name, value) => {
    const parsed = parseConfig({ [name]: value }, machineZone);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).not.toContain("\n");
    expect(parsed.message).toMatch(new RegExp(`^Invalid setting: ${name}\\b`));
    // The message says what would be right, not only that it is wrong.
    expect(parsed.message).toMatch(/must/);
  });

  it("stores RESOURCE_SHARE_TZ by its canonical name, so that utc and UTC are one zone, not a change of zone", () => {
    const zoneOf = (name: string) => {
      const parsed = parseConfig({ RESOURCE_SHARE_TZ: name }, machineZone);
      return parsed.ok ? parsed.config.timeZone : parsed.message;
    };
    expect(["utc", "UTC", "Etc/UTC", "etc/utc", "GMT"].map(zoneOf)).toEqual(["UTC", "UTC", "UTC", "UTC", "UTC"]);
    expect(["europe/berlin", "EUROPE/BERLIN", "Europe/Berlin"].map(zoneOf)).toEqual(["Europe/Berlin", "Europe/Berlin", "Europe/Berlin"]);
    // An alias is stored as the zone ICU resolves it to, the name the machine's own zone is given by too.
    expect(zoneOf("US/Pacific")).toBe(new Intl.DateTimeFormat("en-US", { timeZone: "America/Los_Angeles" }).resolvedOptions().timeZone);
  });

  it("says which number of an IPv4 HOST is out of range, naming HOST", () => {
    expect(parseConfig({ HOST: "999.1.1.1" }, machineZone)).toEqual({
      ok: false,
      message: 'Invalid setting: HOST must be an IPv4 address: each of its four numbers must be from 0 to 255 (got "999.1.1.1")',
    });
  });

  it("takes IP addresses and host names to listen on", () => {
    for (const host of ["0.0.0.0", "127.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "localhost", "box-7.example.org", "example.org."])
      expect(parseConfig({ HOST: host, WEB_HOST: host }, machineZone)).toMatchObject({ ok: true, config: { host, webHost: host } });
  });

  it("refuses interval bounds that do not hold the base interval", () => {
    const parsed = parseConfig({ ADVICE_MIN_INTERVAL: "3600", ADVICE_BASE_INTERVAL: "1800" }, machineZone);
    expect(parsed).toMatchObject({ ok: false, message: expect.stringMatching(/ADVICE_MIN_INTERVAL <= ADVICE_BASE_INTERVAL <= ADVICE_MAX_INTERVAL/) });
  });

  it("names the bad variable even when others are fine", () => {
    const parsed = parseConfig({ PORT: "8000", LOG_LEVEL: "loud", RESOURCE_SHARE_TZ: "UTC" }, machineZone);
    expect(parsed).toMatchObject({ ok: false, message: expect.stringMatching(/^Invalid setting: LOG_LEVEL /) });
  });

  it("never repeats a database URL, which may carry credentials", () => {
    const secretUrl = "postgres://admin:hunter2@db.example.org/?authToken=s3cr3t";
    const parsed = parseConfig({ DATABASE_URL: secretUrl, DATABASE_AUTH_TOKEN: "tok-xyz", WEB_PASSWORD: "pw-xyz" }, machineZone);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toMatch(/^Invalid setting: DATABASE_URL/);
    for (const secret of ["hunter2", "s3cr3t", "admin", "tok-xyz", "pw-xyz"]) expect(parsed.message).not.toContain(secret);
  });

  it("never repeats the token or the password when another variable is wrong", () => {
    const parsed = parseConfig({ PORT: "x", DATABASE_AUTH_TOKEN: "tok-xyz", WEB_PASSWORD: "pw-xyz" }, machineZone);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).not.toContain("tok-xyz");
    expect(parsed.message).not.toContain("pw-xyz");
  });

  it("reads alert receivers as shape=url, each named by its URL with the secrets masked", () => {
    const parsed = parseConfig({
      ALERT_RECEIVERS: "alertmanager=http://am.local:9093/api/v2/alerts, ntfy=https://ntfy.sh/family?auth=tok3n,discord=https://discord.com/api/webhooks/123/d1sc,slack=https://u:p4ss@hooks.slack.com/services/T1/B2/sl4ck",
    }, machineZone);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.config.alerts.receivers.map((r) => r.key)).toEqual([
      "alertmanager=http://am.local:9093/api/v2/alerts",
      "ntfy=https://ntfy.sh/family?auth=***",
      "discord=https://discord.com/api/webhooks/123/***",
      "slack=https://***@hooks.slack.com/services/T1/B2/***",
    ]);
    expect(parsed.config.alerts.receivers[3]!.url).toBe("https://u:p4ss@hooks.slack.com/services/T1/B2/sl4ck");
  });

  it("refuses a bad alert setting naming the variable, and never repeats a receiver's URL", () => {
    const bad = (env: Record<string, string>) => {
      const parsed = parseConfig(env, machineZone);
      return parsed.ok ? "accepted" : parsed.message;
    };
    expect(bad({ ALERT_RECEIVERS: "teams=https://example.org/s3cret" })).toBe(
      'Invalid setting: ALERT_RECEIVERS item 1 must be shape=url with shape one of alertmanager, ntfy, discord, slack (got the shape "teams")',
    );
    expect(bad({ ALERT_RECEIVERS: "slack=hooks.slack.com/services/s3cret" })).toBe(
      'Invalid setting: ALERT_RECEIVERS item 1 (slack) has no valid URL after "=": write it in full, e.g. slack=https://example.org/...',
    );
    expect(bad({ ALERT_OFF: "silent_agent,sleepy" })).toMatch(/^Invalid setting: ALERT_OFF names no rule "sleepy": use "all" or a comma-separated list of silent_agent, /);
    expect(bad({ ALERT_WINDOW_THRESHOLDS: "50,150" })).toMatch(/^Invalid setting: ALERT_WINDOW_THRESHOLDS must be "off" or a comma-separated list of percentages/);
    expect(bad({ ALERT_REMIND: "soon" })).toBe('Invalid setting: ALERT_REMIND must be a whole number of seconds from 0 to 604800 (got "soon")');
    expect(bad({ ALERT_SILENT_FACTOR: "1" })).toBe('Invalid setting: ALERT_SILENT_FACTOR must be a number from 1.5 to 1000 (got "1")');
  });
});
