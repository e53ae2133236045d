import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Handlers must run unchanged on an edge runtime: no Node-only module, no
 * environment. Checked on the source of functions/ and of every project
 * module it imports (shared/ goes wherever the handlers go).
 */

const ROOT = new URL("../../", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

// import ... from "x", import "x", export ... from "x", import("x"), require("x")
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;

function importsOf(text: string): string[] {
  return [...text.matchAll(SPECIFIER)].map((m) => m[1]!);
}

const NODE_ONLY = new Set([
  "fs", "fs/promises", "path", "os", "child_process", "process", "net", "http", "https", "http2", "worker_threads",
  "cluster", "dgram", "dns", "tls", "vm", "module", "readline", "stream", "zlib", "crypto", "buffer", "url", "util",
]);

const isNodeOnly = (spec: string) => spec.startsWith("node:") || NODE_ONLY.has(spec) || spec === "@libsql/client/node";

/** functions/ and every project file it reaches through relative imports. */
function handlerSources(): string[] {
  const seen = new Set<string>();
  const queue = sourceFiles(join(ROOT, "functions"));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) queue.push(join(file, "..", spec));
    }
  }
  return [...seen].sort();
}

describe("handlers are portable to an edge runtime", () => {
  const files = handlerSources();

  it("finds the handlers and what they import", () => {
    const names = files.map((f) => relative(ROOT, f));
    expect(names).toEqual(expect.arrayContaining(["functions/index.ts", "functions/ingest.ts", "shared/validate.ts"]));
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))("%s imports no Node-only module", (_name, file) => {
    const bad = importsOf(readFileSync(file, "utf8")).filter(isNodeOnly);
    expect(bad).toEqual([]);
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))("%s reads no environment and no process", (_name, file) => {
    // Comments may talk about the environment; code may not touch it.
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    expect(code).not.toMatch(/\bprocess\s*[.[]/);
    expect(code).not.toMatch(/\bprocess\.env\b|\bDeno\.env\b|\bBun\.env\b/);
    expect(code).not.toMatch(/\b__dirname\b|\b__filename\b|\brequire\s*\(/);
  });

  it("the scanner itself sees each form of import it must catch", () => {
    const sample = [
      'import { readFileSync } from "node:fs";',
      "import * as os from 'os';",
      'export { join } from "path";',
      'const cp = await import("child_process");',
      'const p = require("process");',
      'import "node:crypto";',
    ].join("\n");
    expect(importsOf(sample).filter(isNodeOnly)).toEqual(["node:fs", "os", "path", "child_process", "process", "node:crypto"]);
    expect(importsOf('import * as v from "valibot";').filter(isNodeOnly)).toEqual([]);
  });
});

describe("the compiler's portability check (tsconfig.portable.json)", () => {
  it("refuses process, Buffer and setTimeout in shared/, which the main configuration allows", () => {
    const copy = mkdtempSync(join(tmpdir(), "rs-portable-"));
    try {
      for (const name of ["functions", "shared"]) cpSync(join(ROOT, name), join(copy, name), { recursive: true });
      for (const name of ["tsconfig.json", "tsconfig.portable.json"]) cpSync(join(ROOT, name), join(copy, name));
      symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
      const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
      writeFileSync(join(copy, "shared/planted.ts"), "export const a = process.env.X, b = Buffer.from('x'), c = setTimeout(() => 0, 1);\n");
      // The clean tree compiles under `npm test` itself; one compile here shows the planted file is what fails.
      const planted = spawnSync(process.execPath, [tsc, "-p", join(copy, "tsconfig.portable.json")], { encoding: "utf8" });
      expect(planted.status).not.toBe(0);
      for (const name of ["process", "Buffer", "setTimeout"]) expect(planted.stdout).toContain(`Cannot find name '${name}'`);
      const errors = planted.stdout.split("\n").filter((line) => /error TS\d+/.test(line));
      expect(errors.filter((line) => !line.includes("shared/planted.ts("))).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
