import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Debian's Chromium; never a downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
/** The CI environment variable as CI services set it (`.ci/run` sets CI=1). */
const inCI = !["", "0", "false"].includes((process.env.CI ?? "").toLowerCase());
const INSTALL = "Install it with: apt-get install -y chromium";

/**
 * Whether to skip the browser tests: only where Chromium is missing outside
 * CI, and then loudly. In CI they run, and fail at launch, so that a machine
 * without a browser cannot pass by leaving them out.
 */
export const skipBrowserTests: boolean = (() => {
  if (hasChromium || inCI) return false;
  console.warn(`No Chromium at ${CHROMIUM}: the browser tests (viewer.browser.test.ts) are SKIPPED. ${INSTALL}. (With CI set they fail instead.)`);
  return true;
})();

/**
 * A headless Chromium with a fresh profile and no background traffic (no
 * updates, sync or first-run pages), closed and removed by `close()`.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!hasChromium) throw new Error(`No Chromium at ${CHROMIUM}, and CI is set: the browser tests must run in CI. ${INSTALL} (.ci/run does).`);
  const profile = mkdtempSync(join(tmpdir(), "rs-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
    args: [
      "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
