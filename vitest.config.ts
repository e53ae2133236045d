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
    // Bundles the runner that the tests start as a process (it says why).
    globalSetup: ["test/support/built-runner.ts"],
    // Tests start real processes and browsers: give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "embedded", include: ["test/**/*.test.ts", "test/**/*.test.tsx"] } },
      { extends: true, test: { name: "libsql-server", include: SERVER_PASS, env: { TEST_BACKEND: "sqld" } } },
    ],
  },
});
