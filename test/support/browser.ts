import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Download } from "playwright-core";
import { inject } from "vitest";

/** Debian's Chromium; never a downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
/** Headless, with no background traffic (no updates, sync or first-run pages); playwright gives it a fresh profile. */
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];
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
  console.warn(`No Chromium at ${CHROMIUM}: the browser tests (*.browser.test.ts) are SKIPPED. ${INSTALL}. (With CI set they fail instead.)`);
  return true;
})();

/**
 * A fresh browser context (its own cookies, storage and downloads) in the
 * run's headless Chromium, which chromium-server.ts launches once for all
 * the browser test files. `close()` closes the context and this file's
 * connection; the browser stays for the next file.
 */
export async function openChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const endpoint = inject("chromiumEndpoint");
  if (!hasChromium || endpoint === undefined) throw new Error(`No Chromium at ${CHROMIUM}, and CI is set: the browser tests must run in CI. ${INSTALL} (.ci/run does).`);
  const browser = await connect(endpoint, 60_000);
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
  return {
    context,
    async close() {
      await context.close();
      await browser.close();
    },
  };
}

/** Connects once the run's Chromium listens: it is launched in the background while the first files run. */
async function connect(endpoint: string, timeoutMs: number): Promise<Browser> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await chromium.connect(endpoint, { timeout: timeoutMs });
    } catch (err) {
      if (Date.now() > deadline || !/ECONNREFUSED/.test((err as Error).message))
        throw new Error(`Could not reach the test run's Chromium at ${endpoint}: ${(err as Error).message} (vitest's output above says why it did not start).`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A download's content as text. The browser is another process's (a connected one), so a download has no local path to read. */
export async function downloadText(download: Download): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
