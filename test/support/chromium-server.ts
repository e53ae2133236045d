import { randomUUID } from "node:crypto";
import { chromium, type BrowserServer } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from "./browser.ts";
import { freeLoopbackPorts } from "./process.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's Chromium (playwright's browser server on a loopback port); undefined where there is none. */
    chromiumEndpoint: string | undefined;
  }
}

interface Shared {
  endpoint: string;
  server: Promise<BrowserServer | undefined>;
  /** Test projects whose setup has run and whose teardown has not. */
  users: number;
}
const KEY = Symbol.for("resource-share.chromium-server");

/**
 * vitest globalSetup of both test projects: one headless Chromium for the
 * run, which every browser test file connects to and opens a fresh context
 * in (browser.ts). A launch per file cost about 2 CPU-s and 2 s, four times
 * a run. It is launched in the background on a port chosen here, so the
 * tests start meanwhile; a file that needs it waits at connect. It is closed
 * when the last project's teardown runs.
 */
export default async function setup(project: { provide(key: "chromiumEndpoint", value: string | undefined): void }): Promise<() => Promise<void>> {
  if (!hasChromium) {
    // browser.ts skips the browser tests, or in CI fails them naming what to install.
    project.provide("chromiumEndpoint", undefined);
    return async () => {};
  }
  const store = globalThis as { [KEY]?: Promise<Shared> };
  store[KEY] ??= launch();
  const shared = await store[KEY];
  shared.users += 1;
  project.provide("chromiumEndpoint", shared.endpoint);
  return async () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    delete store[KEY];
    await (await shared.server)?.close();
  };
}

async function launch(): Promise<Shared> {
  const port = (await freeLoopbackPorts(1))[0]!;
  // Unguessable, as playwright's own default: only this run's tests find it.
  const wsPath = `/${randomUUID()}`;
  const server = chromium
    .launchServer({ executablePath: CHROMIUM, headless: true, host: "127.0.0.1", port, wsPath, args: CHROMIUM_ARGS })
    .catch((err: unknown) => {
      console.error(`Chromium (${CHROMIUM}) did not start, so the browser tests will fail to connect: ${(err as Error).message}`);
      return undefined;
    });
  return { endpoint: `ws://127.0.0.1:${port}${wsPath}`, server, users: 0 };
}
