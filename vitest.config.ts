import { defineConfig } from "vitest/config";

/**
 * Test files that run a second time against a real libSQL server (sqld on a
 * loopback port, TEST_BACKEND=sqld): the HTTP-level and end-to-end tests of
 * ingest, aggregation and the viewer, and storing itself (the ids a server
 * gives). They open their database with openStore() from
 * test/support/backends.ts, which gives the pass's kind.
 */
const SERVER_PASS = [
  "test/functions/aggregateDay.test.ts",
  "test/functions/checkRollups.test.ts",
  "test/shared/rollup.test.ts",
  "test/functions/queryDaily.test.ts",
  "test/functions/store.test.ts",
  "test/functions/telemetry/compare.test.ts",
  "test/runner/schedules/daily-catch-up.test.ts",
  "test/runner/viewer/console/query-runner.test.ts",
  "test/runner/viewer/console/page.test.ts",
  "test/runner/webhook/webhook.test.ts",
  "test/runner/viewer/viewer.browser.test.ts",
  "test/functions/alerts/rules.test.ts",
];

export default defineConfig({
  test: {
    exclude: ["test/bench/**", "node_modules/**"],
    // Tests start real processes and browsers: give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    // A worker runs file after file, keeping the modules they share loaded:
    // starting a process per file and loading them again was a third of the
    // suite's CPU. Nothing a test changes may outlive its file (contributing.md).
    isolate: false,
    projects: [
      {
        extends: true,
        // built-runner.ts bundles the runner that tests start as a process, chromium-server.ts
        // launches the browser the browser tests share (each says why).
        test: { name: "embedded", include: ["test/**/*.test.ts", "test/**/*.test.tsx"], globalSetup: ["test/support/built-runner.ts", "test/support/chromium-server.ts"] },
      },
      {
        extends: true,
        test: {
          name: "libsql-server",
          include: SERVER_PASS,
          env: { TEST_BACKEND: "sqld" },
          globalSetup: ["test/support/built-runner.ts", "test/support/chromium-server.ts", "test/support/sqld-template.ts"],
        },
      },
    ],
  },
});
