import * as v from "valibot";
import { canonicalTimeZone, isTimeZone } from "./time.ts";
import { DEFAULT_ADVICE, parseBudgets, parseWeeklyReset, parseWorkHours, type AdviceSettings } from "./advice-settings.ts";
import { DEFAULT_ALERTS, parseReceivers, parseRuleList, parseThresholds, type AlertSettings } from "./alert-settings.ts";


/**
 * Every setting, with defaults that work out of the box. The runner calls
 * parseConfig(process.env) once at start; nothing else reads the environment.
 */
export interface Config {
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  host: string;
  port: number;
  webHost: string;
  webPort: number;
  webPassword: string | undefined;
  timeZone: string;
  logLevel: LogLevel;
  replayWindowDays: number;
  /** Token for the destination of `runner copy --to`, when it is a libSQL server. */
  copyToAuthToken: string | undefined;
  /** Where the spool file lives; undefined: beside a file database, data/ for a server. */
  spoolDir: string | undefined;
  /** Writes need an agent's token even on a loopback address. */
  requireTokens: boolean;
  /** When the webhook answers 200: "normal" once committed, "full" once the commit is on the disk (docs/reliability.md). */
  durability: Durability;
  /** The fair-share advice and the quota windows (ADVICE_*, QUOTA_*). */
  advice: AdviceSettings;
  /** How far apart reports and telemetry may be on a day before it is marked (TELEMETRY_MARGIN_PERCENT). */
  telemetryMarginPercent: number;
  /** The alerts: rules, their thresholds, receivers (ALERT_*, docs/alerts.md). */
  alerts: AlertSettings;
}

export const DURABILITIES = ["normal", "full"] as const;
export type Durability = (typeof DURABILITIES)[number];

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATABASE_URL = "file:data/resource_tracking.db";

/** How far apart, in percent, reports and telemetry may be on a day before it is marked as disagreeing. */
export const DEFAULT_TELEMETRY_MARGIN_PERCENT = 5;

const port = (name: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `${name} must be a port number from 1 to 65535`),
    v.transform(Number),
    v.number(),
    // 0 would listen on whatever port the system picks, which no client could find.
    v.minValue(1, `${name} must be a port number from 1 to 65535`),
    v.maxValue(65535, `${name} must be a port number from 1 to 65535`),
  );

const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * What is wrong with an address to listen on, or undefined: it must be an
 * IP address or a host name. Without this check, 999.1.1.1 reaches
 * getaddrinfo as a name and fails with ENOTFOUND, naming no setting.
 * Whether a name resolves is checked at start (runner/platform/environment.ts).
 */
export function addressProblem(host: string): string | undefined {
  if (/^[\d.]+$/.test(host)) {
    const parts = host.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p)))
      return "must be an IPv4 address of four numbers from 0 to 255 separated by dots, e.g. 127.0.0.1";
    if (parts.some((p) => Number(p) > 255)) return "must be an IPv4 address: each of its four numbers must be from 0 to 255";
    return undefined;
  }
  if (host.includes(":")) {
    try {
      new URL(`http://[${host}]/`);
      return undefined;
    } catch {
      return "must be an IPv6 address such as ::1 (this is not one)";
    }
  }
  return HOST_NAME.test(host) ? undefined : "must be an IP address or a host name (letters, digits, hyphens and dots), e.g. 127.0.0.1";
}

const listenAddress = (name: string) =>
  v.pipe(
    v.string(),
    v.check(
      (host) => addressProblem(host) === undefined,
      (issue) => `${name} ${addressProblem(String(issue.input))}`,
    ),
  );
const seconds = (name: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `${name} must be a whole number of seconds from 1 to 604800`),
    v.transform(Number),
    v.number(),
    v.minValue(1, `${name} must be a whole number of seconds from 1 to 604800`),
    v.maxValue(604800, `${name} must be a whole number of seconds from 1 to 604800`),
  );

/** A whole number from `min` to `max` (0 typically meaning "never"). */
const whole = (name: string, min: number, max: number, unit: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `${name} must be a whole number of ${unit} from ${min} to ${max}`),
    v.transform(Number),
    v.number(),
    v.minValue(min, `${name} must be a whole number of ${unit} from ${min} to ${max}`),
    v.maxValue(max, `${name} must be a whole number of ${unit} from ${min} to ${max}`),
  );
const factor = (name: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+(\.\d+)?$/, `${name} must be a number from 1.5 to 1000`),
    v.transform(Number),
    v.number(),
    v.minValue(1.5, `${name} must be a number from 1.5 to 1000`),
    v.maxValue(1000, `${name} must be a number from 1.5 to 1000`),
  );

/** A setting whose text a parser of advice-settings.ts turns into a value or a message. */
const parsed = <T>(name: string, parse: (text: string) => T | string) =>
  v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const value = parse(dataset.value);
      if (typeof value === "string") {
        addIssue({ message: `${name} ${value}` });
        return NEVER;
      }
      return value;
    }),
  );


function envSchema(machineZone: () => string) {
  return v.object({
    DATABASE_URL: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^(file|libsql|http|https|ws|wss):/, "DATABASE_URL must start with file:, libsql:, http(s): or ws(s):"),
      ),
      DEFAULT_DATABASE_URL,
    ),
    DATABASE_AUTH_TOKEN: v.optional(v.string()),
    COPY_TO_AUTH_TOKEN: v.optional(v.string()),
    HOST: v.optional(listenAddress("HOST"), "127.0.0.1"),
    PORT: v.optional(port("PORT"), "8765"),
    WEB_HOST: v.optional(listenAddress("WEB_HOST"), "127.0.0.1"),
    WEB_PORT: v.optional(port("WEB_PORT"), "8082"),
    WEB_PASSWORD: v.optional(v.string()),
    RESOURCE_SHARE_TZ: v.optional(
      v.pipe(
        v.string(),
        v.check(isTimeZone, "RESOURCE_SHARE_TZ must be an IANA time zone such as Europe/London"),
        // One zone, one name: "utc" and "UTC" must not count as a change of zone.
        v.transform((name) => canonicalTimeZone(name)!),
      ),
      machineZone,
    ),
    LOG_LEVEL: v.optional(v.picklist(LOG_LEVELS, `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`), "info"),
    RESOURCE_SHARE_REPLAY_DAYS: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+$/, "RESOURCE_SHARE_REPLAY_DAYS must be a whole number of days from 1 to 3650"),
        v.transform(Number),
        v.number(),
        v.minValue(1, "RESOURCE_SHARE_REPLAY_DAYS must be a whole number of days from 1 to 3650"),
        v.maxValue(3650, "RESOURCE_SHARE_REPLAY_DAYS must be a whole number of days from 1 to 3650"),
      ),
      "30",
    ),
    SPOOL_DIR: v.optional(v.string()),
    REQUIRE_TOKENS: v.optional(v.picklist(["0", "1"], "REQUIRE_TOKENS must be 1 (writes need a token) or 0"), "0"),
    DURABILITY: v.optional(
      v.picklist(DURABILITIES, "DURABILITY must be normal (a 200 once committed) or full (a 200 once the commit is on the disk)"),
      "normal",
    ),
    ADVICE_BASE_INTERVAL: v.optional(seconds("ADVICE_BASE_INTERVAL"), String(DEFAULT_ADVICE.baseInterval)),
    ADVICE_MIN_INTERVAL: v.optional(seconds("ADVICE_MIN_INTERVAL"), String(DEFAULT_ADVICE.minInterval)),
    ADVICE_MAX_INTERVAL: v.optional(seconds("ADVICE_MAX_INTERVAL"), String(DEFAULT_ADVICE.maxInterval)),
    QUOTA_TARGET_PERCENT: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+(\.\d+)?$/, "QUOTA_TARGET_PERCENT must be a number from 1 to 100"),
        v.transform(Number),
        v.number(),
        v.minValue(1, "QUOTA_TARGET_PERCENT must be a number from 1 to 100"),
        v.maxValue(100, "QUOTA_TARGET_PERCENT must be a number from 1 to 100"),
      ),
      String(DEFAULT_ADVICE.targetPercent),
    ),
    ADVICE_WORK_HOURS: v.optional(parsed("ADVICE_WORK_HOURS", parseWorkHours), "Mon-Fri 09:00-18:00"),
    QUOTA_BUDGETS: v.optional(parsed("QUOTA_BUDGETS", parseBudgets), ""),
    QUOTA_WEEKLY_RESET: v.optional(parsed("QUOTA_WEEKLY_RESET", parseWeeklyReset), "Mon 00:00"),
    TELEMETRY_MARGIN_PERCENT: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+(\.\d+)?$/, "TELEMETRY_MARGIN_PERCENT must be a number of percent from 0 to 100"),
        v.transform(Number),
        v.number(),
        v.maxValue(100, "TELEMETRY_MARGIN_PERCENT must be a number of percent from 0 to 100"),
      ),
      String(DEFAULT_TELEMETRY_MARGIN_PERCENT),
    ),
    ALERT_RECEIVERS: v.optional(parsed("ALERT_RECEIVERS", parseReceivers), ""),
    ALERT_OFF: v.optional(parsed("ALERT_OFF", parseRuleList), ""),
    ALERT_EVERY: v.optional(whole("ALERT_EVERY", 5, 3600, "seconds"), String(DEFAULT_ALERTS.everySeconds)),
    ALERT_REMIND: v.optional(whole("ALERT_REMIND", 0, 604800, "seconds"), String(DEFAULT_ALERTS.remindSeconds)),
    ALERT_SILENT_FACTOR: v.optional(factor("ALERT_SILENT_FACTOR"), String(DEFAULT_ALERTS.silentFactor)),
    ALERT_USAGE_FACTOR: v.optional(factor("ALERT_USAGE_FACTOR"), String(DEFAULT_ALERTS.usageFactor)),
    ALERT_WINDOW_THRESHOLDS: v.optional(parsed("ALERT_WINDOW_THRESHOLDS", parseThresholds), DEFAULT_ALERTS.windowThresholds.join(",")),
    ALERT_SPOOL_AGE: v.optional(whole("ALERT_SPOOL_AGE", 1, 86400, "seconds"), String(DEFAULT_ALERTS.spoolAgeSeconds)),
    ALERT_SEND_TIMEOUT: v.optional(whole("ALERT_SEND_TIMEOUT", 1, 300, "seconds"), String(DEFAULT_ALERTS.sendTimeoutSeconds)),
  });
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; message: string };

/**
 * Reads settings from an environment-like map; empty values count as unset.
 * `machineZone` is asked only when RESOURCE_SHARE_TZ is unset (it costs a
 * date formatter, see isTimeZone).
 */
export function parseConfig(env: Record<string, string | undefined>, machineZone: () => string): ConfigResult {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = v.safeParse(envSchema(machineZone), present);
  if (!parsed.success) {
    const issue = parsed.issues[0]!;
    const name = issue.path?.[0]?.key;
    const message = issue.message.startsWith(String(name)) ? issue.message : `${String(name)}: ${issue.message}`;
    // The URLs may carry credentials: never repeat them.
    const got = name === "DATABASE_URL" || name === "ALERT_RECEIVERS" ? "" : ` (got ${JSON.stringify(String(present[String(name)] ?? ""))})`;
    return { ok: false, message: `Invalid setting: ${message}${got}` };
  }
  const e = parsed.output;
  if (!(e.ADVICE_MIN_INTERVAL <= e.ADVICE_BASE_INTERVAL && e.ADVICE_BASE_INTERVAL <= e.ADVICE_MAX_INTERVAL))
    return {
      ok: false,
      message: `Invalid setting: ADVICE_MIN_INTERVAL <= ADVICE_BASE_INTERVAL <= ADVICE_MAX_INTERVAL must hold (got ${e.ADVICE_MIN_INTERVAL}, ${e.ADVICE_BASE_INTERVAL}, ${e.ADVICE_MAX_INTERVAL})`,
    };
  return {
    ok: true,
    config: {
      databaseUrl: e.DATABASE_URL,
      databaseAuthToken: e.DATABASE_AUTH_TOKEN,
      host: e.HOST,
      port: e.PORT,
      webHost: e.WEB_HOST,
      webPort: e.WEB_PORT,
      webPassword: e.WEB_PASSWORD,
      timeZone: e.RESOURCE_SHARE_TZ,
      logLevel: e.LOG_LEVEL,
      replayWindowDays: e.RESOURCE_SHARE_REPLAY_DAYS,
      copyToAuthToken: e.COPY_TO_AUTH_TOKEN,
      spoolDir: e.SPOOL_DIR,
      requireTokens: e.REQUIRE_TOKENS === "1",
      durability: e.DURABILITY,
      advice: {
        baseInterval: e.ADVICE_BASE_INTERVAL,
        minInterval: e.ADVICE_MIN_INTERVAL,
        maxInterval: e.ADVICE_MAX_INTERVAL,
        targetPercent: e.QUOTA_TARGET_PERCENT,
        workHours: e.ADVICE_WORK_HOURS,
        budgets: e.QUOTA_BUDGETS,
        weeklyReset: e.QUOTA_WEEKLY_RESET,
      },
      telemetryMarginPercent: e.TELEMETRY_MARGIN_PERCENT,
      alerts: {
        off: e.ALERT_OFF,
        everySeconds: e.ALERT_EVERY,
        remindSeconds: e.ALERT_REMIND,
        silentFactor: e.ALERT_SILENT_FACTOR,
        usageFactor: e.ALERT_USAGE_FACTOR,
        windowThresholds: e.ALERT_WINDOW_THRESHOLDS,
        spoolAgeSeconds: e.ALERT_SPOOL_AGE,
        sendTimeoutSeconds: e.ALERT_SEND_TIMEOUT,
        receivers: e.ALERT_RECEIVERS,
      },
    },
  };
}
