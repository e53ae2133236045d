// `npm test`: both type-checks and every test file, at the same time.
//
// The type-checks (the project, and functions/ with shared/ without Node's
// types: tsconfig.portable.json) each keep one core busy for seconds, while
// the tests often wait on a process or a browser; run one after the other
// they added their whole time to the suite's. Arguments go to vitest
// (`npm test -- test/shared/time.test.ts`). The exit code is 0 only when
// the type-checks and the tests all pass.
//
// Plain JavaScript, so that it starts without a loader.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

/** Runs a command from the project root; resolves with its exit code and, when `keep`, what it printed. */
function run(command, args, { keep }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: keep ? ["ignore", "pipe", "pipe"] : "inherit" });
    let text = "";
    if (keep) {
      child.stdout.on("data", (d) => (text += d));
      child.stderr.on("data", (d) => (text += d));
    }
    child.on("error", (err) => resolve({ code: 1, text: `${command} did not start: ${err.message}\n` }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), text }));
  });
}

// The compilers' output is held back and printed after the tests', so it does not cut into their report.
const checks = [
  { what: "tsc --noEmit (the whole project)", done: run(bin("tsc"), ["--noEmit"], { keep: true }) },
  { what: "tsc -p tsconfig.portable.json (functions/ and shared/ without Node's API)", done: run(bin("tsc"), ["-p", "tsconfig.portable.json"], { keep: true }) },
];
const tests = await run(bin("vitest"), ["run", ...process.argv.slice(2)], { keep: false });

const failed = [];
for (const check of checks) {
  const { code, text } = await check.done;
  if (code !== 0) {
    failed.push(check.what);
    process.stdout.write(`\nType errors from ${check.what}:\n${text}`);
  }
}
if (tests.code !== 0) failed.push("the tests (vitest's report above)");
if (failed.length > 0) {
  process.stdout.write(`\nnpm test failed: ${failed.join("; ")}. Fix those and run npm test again.\n`);
  process.exitCode = 1;
} else {
  process.stdout.write("\nType-checks passed.\n");
}
