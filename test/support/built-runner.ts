import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "./process.ts";

/**
 * The runner as most tests start it: bundled from the working tree by
 * esbuild, the compiler tsx runs on each file, once per test run (vitest's
 * globalSetup, below). The code is the same; what it saves is tsx's loader,
 * which costs a process about 0.6 CPU-seconds of its start, and the suite
 * starts about a hundred runners on two cores. Tests whose point is the
 * command as people type it (`tsx runner ...`) start that instead:
 * `runnerArgs({ viaTsx: true })` in server.ts.
 *
 * The console's query process is a second entry, found beside the bundle
 * (runner/viewer/console/query-runner.ts says how).
 */
export const BUILD_DIR = join(ROOT, "node_modules/.cache/runner-build");
export const BUILT_RUNNER = join(BUILD_DIR, "index.js");
/** The console's query process in the same build (createQueryRunner's `childArgs`). */
export const BUILT_QUERY_CHILD = join(BUILD_DIR, "query-child.js");

export async function buildRunner(): Promise<void> {
  const result = await build({
    entryPoints: [join(ROOT, "runner/index.ts"), join(ROOT, "runner/viewer/console/query-child.ts")],
    entryNames: "[name]",
    outdir: BUILD_DIR,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // Class and function names stay as written (bundling may rename two that collide).
    keepNames: true,
    tsconfig: join(ROOT, "tsconfig.json"),
    write: false,
    logLevel: "warning",
  });
  // Another vitest run may build at the same time: each file is written
  // whole and renamed into place, and the two builds are identical.
  mkdirSync(BUILD_DIR, { recursive: true });
  const wanted = new Set<string>();
  for (const file of result.outputFiles) {
    wanted.add(basename(file.path));
    const part = `${file.path}.${process.pid}.part`;
    writeFileSync(part, file.contents);
    renameSync(part, file.path);
  }
  // Chunks of earlier builds, named by hashes of code since changed.
  for (const name of readdirSync(BUILD_DIR)) {
    if (!wanted.has(name) && name.endsWith(".js")) rmSync(join(BUILD_DIR, name), { force: true });
  }
}

// Both test projects run this setup in vitest's one process, each with a copy
// of this module of its own: the first build, kept on globalThis, serves both.
const FIRST_BUILD = Symbol.for("resource-share.runner-build");

/** vitest globalSetup: build before any test file runs, and again before a rerun in watch mode. */
export default async function setup(project: { onTestsRerun(cb: () => Promise<void>): void }): Promise<void> {
  const shared = globalThis as { [FIRST_BUILD]?: Promise<void> };
  await (shared[FIRST_BUILD] ??= buildRunner());
  project.onTestsRerun(buildRunner);
}
