import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openTestDatabase, sqlite3Rows, tempDir } from "../support/database.ts";
import { insertIncrements } from "../support/increments.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const UNITS = [
  "resource-share-server.service",
  "resource-share-web.service",
  "resource-share-daily-aggregate.service",
  "resource-share-daily-aggregate.timer",
  "resource-share-alerts.service",
  "resource-share-alerts.timer",
];

function render(...options: string[]): { dir: string; unit: (name: string) => string } {
  const dir = tempDir("rs-units-");
  execFileSync("bash", [join(ROOT, "systemd/install.sh"), "--render-only", dir, "--node", process.execPath, ...options], { encoding: "utf8" });
  return { dir, unit: (name) => readFileSync(join(dir, name), "utf8") };
}

/** The value of `Key=` in a rendered unit. */
const setting = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(text)?.[1];

/** What each service runs, after node itself. */
const COMMANDS: Record<string, string> = {
  "resource-share-server.service": "--max-semi-space-size=4 --import tsx runner/index.ts serve",
  "resource-share-web.service": "--max-semi-space-size=4 --import tsx runner/index.ts web",
  "resource-share-daily-aggregate.service": "--import tsx runner/index.ts aggregate",
  "resource-share-alerts.service": "--import tsx runner/index.ts alerts",
};

describe("systemd units", () => {
  it("render for a chosen directory, user and group, and pass systemd-analyze verify without a warning", () => {
    const data = tempDir("rs-data-");
    const { dir, unit } = render("--user", "clap-admin", "--group", "clap-users", "--data-dir", data, "--time-zone", "Europe/London");
    const verify = spawnSync("systemd-analyze", ["verify", ...UNITS.map((u) => join(dir, u))], { encoding: "utf8" });
    expect(verify.stderr).toBe("");
    expect(verify.status).toBe(0);

    for (const name of UNITS.filter((u) => u.endsWith(".service"))) {
      const text = unit(name);
      expect(text).not.toMatch(/@[A-Z_]+@/);
      expect([setting(text, "User"), setting(text, "Group"), setting(text, "WorkingDirectory")]).toEqual(["clap-admin", "clap-users", ROOT]);
      expect(setting(text, "ExecStart")).toBe(`${process.execPath} ${COMMANDS[name]}`);
      expect([setting(text, "ProtectSystem"), setting(text, "ReadWritePaths"), setting(text, "NoNewPrivileges"), setting(text, "PrivateTmp")]).toEqual([
        "strict", data, "yes", "yes",
      ]);
      expect(setting(text, "EnvironmentFile")).toBe("/etc/resource-share/resource-share.env");
      expect(setting(text, "Restart")).toBe("on-failure");
    }
    expect(setting(unit("resource-share-daily-aggregate.service"), "Type")).toBe("oneshot");
    const timer = unit("resource-share-daily-aggregate.timer");
    expect([setting(timer, "OnCalendar"), setting(timer, "Persistent")]).toEqual(["*-*-* 00:00:00 Europe/London", "true"]);
    expect(setting(unit("resource-share-alerts.service"), "Type")).toBe("oneshot");
    expect([setting(unit("resource-share-alerts.timer"), "OnUnitActiveSec"), setting(unit("resource-share-alerts.timer"), "Unit")]).toEqual(["1min", "resource-share-alerts.service"]);
  });

  /** install.sh --render-only into a directory that does not exist yet, with a settings file of its own. */
  function renderInto(settings: string | undefined, ...options: string[]) {
    const dir = join(tempDir("rs-units-"), "units");
    const envFile = join(tempDir("rs-env-"), "resource-share.env");
    if (settings !== undefined) writeFileSync(envFile, settings);
    const run = spawnSync("bash", [join(ROOT, "systemd/install.sh"), "--render-only", dir, "--node", process.execPath, "--env-file", envFile, ...options], {
      encoding: "utf8",
    });
    return { ...run, dir };
  }

  it.each([
    ["--time-zone", undefined, ["--time-zone", "Mars/Olympus"]],
    ["RESOURCE_SHARE_TZ in", "RESOURCE_SHARE_TZ=Mars/Olympus\n", []],
  ] as const)("refuses a zone the service would refuse (from %s), before writing anything", (from, settings, options) => {
    const run = renderInto(settings, ...options);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`install.sh: ${from}`);
    expect(run.stderr).toContain('"Mars/Olympus" is not a time zone the service knows');
    expect(existsSync(run.dir)).toBe(false);
  });

  it("writes the zone into the timer by the name the service uses, which systemd accepts", () => {
    const run = renderInto("RESOURCE_SHARE_TZ=europe/london\n");
    expect(run.stderr).toBe("");
    expect(setting(readFileSync(join(run.dir, "resource-share-daily-aggregate.timer"), "utf8"), "OnCalendar")).toBe("*-*-* 00:00:00 Europe/London");
    const verify = spawnSync("systemd-analyze", ["verify", join(run.dir, "resource-share-daily-aggregate.timer")], { encoding: "utf8" });
    expect(verify.status).toBe(0);
    // Says that a new zone needs the units rendered again.
    expect(run.stdout).toContain("After changing RESOURCE_SHARE_TZ");
    expect(run.stdout).toContain("run this script again");
  });

  it("refuses a --time-zone other than the settings file's, whose days the services count", () => {
    const run = renderInto("RESOURCE_SHARE_TZ=UTC\n", "--time-zone", "Europe/Berlin");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("--time-zone Europe/Berlin differs from RESOURCE_SHARE_TZ=UTC");
    expect(existsSync(run.dir)).toBe(false);
    expect(renderInto("RESOURCE_SHARE_TZ=UTC\n", "--time-zone", "Etc/UTC").status).toBe(0);
  });

  it("keeps a home directory readable when the checkout lives there", () => {
    const { unit } = render("--prefix", ROOT, "--data-dir", "/home/clap-admin/resource-sharing/data");
    expect(setting(unit("resource-share-server.service"), "ProtectHome")).toBe("read-only");
  });

  it("runs the timer's command as written and closes yesterday", async () => {
    const db = await openTestDatabase();
    const zone = "Europe/London";
    const day = (ms: number) => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(ms);
    const today = day(Date.now());
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    // Noon UTC yesterday is yesterday in London whatever the season.
    await insertIncrements(db.db, [
      { claude_name: "Sparkle-Orange", timestamp: `${yesterday}T12:00:00.000Z`, mode: "collaboration", cache_read_increment: 4242 },
    ]);

    const service = render().unit("resource-share-daily-aggregate.service");
    const [command, ...args] = setting(service, "ExecStart")!.split(" ");
    const run = spawnSync(command!, args, {
      cwd: setting(service, "WorkingDirectory"),
      env: { PATH: process.env.PATH, DATABASE_URL: `file:${db.path}`, RESOURCE_SHARE_TZ: zone },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.stderr).toContain(`closed ${yesterday}`);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ up_to: yesterday, days_closed: 1, rows_written: 1 });
    expect(sqlite3Rows(db.path, `SELECT date, claude_name, collaborative_tokens FROM daily_resource_share`)).toEqual([
      { date: yesterday, claude_name: "Sparkle-Orange", collaborative_tokens: 4242 },
    ]);
  });
  it("render the reporter's user unit, one instance per agent, which systemd-analyze --user verify accepts and whose command reports as that agent", async () => {
    const { dir, unit } = render();
    const text = unit("resource-share-reporter@.service");
    expect(text).not.toMatch(/@[A-Z_]+@/);
    expect([setting(text, "User"), setting(text, "WorkingDirectory"), setting(text, "Environment")]).toEqual([undefined, ROOT, "CLAUDE_NAME=%i"]);
    expect(setting(text, "ExecStart")).toBe(`${process.execPath} --max-semi-space-size=1 --import tsx runner/index.ts report`);
    // A user manager needs its runtime directory; an instance stands for the template.
    const runtime = tempDir("rs-runtime-");
    const instance = join(dir, "resource-share-reporter@Sparkle-Orange.service");
    writeFileSync(instance, text);
    const verify = spawnSync("systemd-analyze", ["--user", "verify", instance], { encoding: "utf8", env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    expect(verify.stderr).toBe("");
    expect(verify.status).toBe(0);
    // The command as the unit runs it, with the instance's CLAUDE_NAME, for one pass.
    const [command, ...args] = setting(text, "ExecStart")!.split(" ");
    const home = tempDir("rs-home-");
    const run = spawnSync(command!, [...args, "--once", "--mode", "autonomy"], {
      cwd: setting(text, "WorkingDirectory"),
      env: { PATH: process.env.PATH, HOME: home, CLAUDE_NAME: "Sparkle-Orange", RESOURCE_SHARE_URL: "http://127.0.0.1:9" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.stdout).toMatch(/^report: 0 new message\(s\) from 0 file\(s\)/);
    expect(run.status).toBe(0);
    expect(existsSync(join(home, ".local/state/resource-share/reporter/Sparkle-Orange/state.json"))).toBe(true);
  });
});
