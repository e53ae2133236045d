import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handlers, isHandlerName } from "../functions/index.ts";
import { COMMANDS } from "../runner/cli/commands.ts";
import { testContext } from "./support/context.ts";
import { openTestDatabase, sharedTempDir } from "./support/database.ts";
import { openApiChecker } from "./support/openapi.ts";
import { ROOT } from "./support/process.ts";
import { startRunner, type RunningProcess } from "./support/server.ts";

/**
 * The README's examples are what the program does: each `curl` call against
 * :8765 in a `sh` block is run, in order, against a real webhook on a fresh
 * database, and its answer compared with the `# {...}` comment under it.
 * And every command and file the README and docs/ name exists, so a
 * reorganisation cannot leave them pointing at nothing.
 */

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DOCS = readdirSync(join(ROOT, "docs"))
  .filter((f) => f.endsWith(".md"))
  .map((f) => ({ file: `docs/${f}`, text: readFileSync(join(ROOT, "docs", f), "utf8") }));
const ALL = [{ file: "README.md", text: README }, ...DOCS];

interface Example {
  /** The shell text of the command, as a reader would paste it. */
  command: string;
  /** The `# {...}` comment under it; every example has one. */
  reply: string | undefined;
  line: number;
}

/** The `curl ... localhost:8765` commands of the README's `sh` blocks, each with the reply comment under it. */
function apiExamples(markdown: string): Example[] {
  const lines = markdown.split("\n");
  const examples: Example[] = [];
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^```/.test(line)) {
      inSh = !inSh && /^```sh\s*$/.test(line);
      continue;
    }
    if (!inSh || !/^curl .*localhost:8765/.test(line)) continue;
    const start = i;
    const heredoc = /<<\s*'?(\w+)'?/.exec(line)?.[1];
    // The command ends at its here-document's delimiter, or where no line continues it (a trailing \ or an open quote).
    const open = () => lines.slice(start, i + 1).join("\n").split("'").length % 2 === 0;
    if (heredoc) while (lines[i] !== heredoc && i < lines.length - 1) i++;
    else while ((lines[i]!.endsWith("\\") || open()) && i < lines.length - 1) i++;
    const command = lines.slice(start, i + 1).join("\n");
    const reply = lines[i + 1]?.startsWith("# {") ? lines[++i]!.slice(2) : undefined;
    examples.push({ command, reply, line: start + 1 });
  }
  return examples;
}

/**
 * Runs the command through sh with `curl` replaced by a function that
 * prints its arguments, so quoting, `$(date ...)` and here-documents mean
 * what they mean to the reader's shell (and no curl need be installed).
 */
function curlArguments(command: string): string[] {
  const shim = `curl() { for a in "$@"; do if [ "$a" = "@-" ]; then printf '%s\\0' "$(cat)"; else printf '%s\\0' "$a"; fi; done; }`;
  const out = execFileSync("sh", ["-c", `${shim}\n${command}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

/** One example as sent and answered, for checking against GET /openapi.json. */
interface Exchange {
  method: string;
  path: string;
  /** The parsed JSON body; undefined for a GET. */
  request: unknown;
  status: number;
  body: unknown;
}

async function send(base: string, args: string[]): Promise<Exchange> {
  let url: string | undefined;
  let method = "GET";
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-s") continue;
    else if (a === "-H") {
      const h = args[++i]!;
      headers[h.slice(0, h.indexOf(":")).trim()] = h.slice(h.indexOf(":") + 1).trim();
    } else if (a === "-d" || a === "--data") {
      body = args[++i];
      method = "POST";
    } else if (a === "-X") method = args[++i]!;
    else if (!a.startsWith("-")) url = a;
    else throw new Error(`the README's curl uses ${a}, which this test does not know; teach send() about it`);
  }
  if (!url) throw new Error(`no URL in curl ${args.join(" ")}`);
  const target = new URL(url.includes("://") ? url : `http://${url}`);
  const res = await fetch(`${base}${target.pathname}${target.search}`, { method, headers, body });
  const request = body === undefined ? undefined : (JSON.parse(body) as unknown);
  return { method, path: target.pathname, request, status: res.status, body: await res.json() };
}

/** Stands for "any value" (`"..."`) and for "more items may follow" (`...` in an array). */
const ANY = Symbol("any value");
const MORE = Symbol("more items");
type Expected = typeof ANY | typeof MORE | null | boolean | number | string | Expected[] | { [key: string]: Expected };

/**
 * Reads a reply comment: JSON in which `"..."` is any value, `...` among an
 * object's members says the reply has more keys (it may always have more),
 * and `...` in an array says more items follow.
 */
function parseReply(text: string): Expected {
  let i = 0;
  const ws = () => {
    while (/\s/.test(text[i] ?? "")) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`reply comment, at ${i}: expected ${what} in ${text}`);
  };
  const value = (): Expected => {
    ws();
    if (text.startsWith("...", i)) {
      i += 3;
      return MORE;
    }
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: { [key: string]: Expected } = {};
      for (;;) {
        ws();
        if (text[i] === "}") break;
        const member = value();
        if (member !== MORE) {
          if (typeof member !== "string") fail("a key");
          ws();
          if (text[i++] !== ":") fail('":"');
          obj[member as string] = value();
        }
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") fail('"," or "}"');
      }
      i++;
      return obj;
    }
    if (c === "[") {
      i++;
      const items: Expected[] = [];
      for (;;) {
        ws();
        if (text[i] === "]") break;
        items.push(value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "]") fail('"," or "]"');
      }
      i++;
      return items;
    }
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i)) ?? fail("a string");
      i += m[0].length;
      const s = JSON.parse(m[0]) as string;
      return s === "..." ? ANY : s;
    }
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i)) ?? fail("a value");
    i += m[0].length;
    return JSON.parse(m[0]) as Expected;
  };
  const result = value();
  ws();
  if (i !== text.length) fail("the end");
  return result;
}

/** Keys whose values change from run to run: only their form is compared (digits stand for any digit). */
const RUN_SPECIFIC = new Set(["timestamp", "date", "last_report_at", "received_at"]);

/** What in `actual` differs from the README's comment, as "path: problem" lines. */
function differences(actual: unknown, expected: Expected, path = "reply", key = ""): string[] {
  if (expected === ANY) return [];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${JSON.stringify(actual)}`];
    const more = expected.at(-1) === MORE;
    const items = more ? expected.slice(0, -1) : expected;
    if (more ? actual.length < items.length : actual.length !== items.length)
      return [`${path}: expected ${more ? "at least " : ""}${items.length} items, got ${actual.length}`];
    return items.flatMap((item, n) => differences(actual[n], item, `${path}[${n}]`));
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([k, v]) =>
      k in actual ? differences((actual as Record<string, unknown>)[k], v, `${path}.${k}`, k) : [`${path}: no key "${k}"`],
    );
  }
  if (typeof expected === "string" && RUN_SPECIFIC.has(key)) {
    const form = (s: unknown) => String(s).replace(/\d/g, "0");
    return typeof actual === "string" && form(actual) === form(expected) ? [] : [`${path}: expected the form of ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  }
  return Object.is(actual, expected) ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

describe("the README's API examples", () => {
  const examples = apiExamples(README);
  const dir = sharedTempDir("rs-readme-");
  let webhook: RunningProcess;
  const exchanges: Exchange[] = [];

  beforeAll(async () => {
    // The examples' replies show days in UTC; the rest is the out-of-the-box configuration.
    webhook = await startRunner("serve", { DATABASE_URL: `file:${join(dir.dir, "resource_tracking.db")}`, RESOURCE_SHARE_TZ: "UTC" }, { stopAfterEach: false, viaTsx: true });
  });
  afterAll(async () => {
    await webhook?.stop();
    dir.remove();
  });

  it("are found: the writes, the refusals, the reads and /health", () => {
    const paths = examples.map((e) => /localhost:8765(\S*?)['"\s]/.exec(`${e.command} `)?.[1]);
    expect(paths).toEqual(
      expect.arrayContaining(["/resource-share/increment", "/resource-share/increments", "/resource/today/Sparkle-Orange", "/resource/summary", "/health"]),
    );
  });

  it("give the answers their comments show, run in order on a fresh database", async () => {
    const problems: string[] = [];
    for (const example of examples) {
      if (example.reply === undefined) {
        problems.push(`README line ${example.line}: ${example.command.split("\n")[0]}\n  has no "# {...}" reply comment under it`);
        continue;
      }
      const exchange = await send(webhook.url, curlArguments(example.command));
      exchanges.push(exchange);
      const { status, body } = exchange;
      const expected = parseReply(example.reply);
      const refused = typeof expected === "object" && expected !== null && !Array.isArray(expected) && (expected as Record<string, Expected>).status === "error";
      const found = differences(body, expected);
      if (refused ? status < 400 : status !== 200) found.push(`status ${status}`);
      if (found.length) problems.push(`README line ${example.line}: ${example.command.split("\n")[0]}\n  ${found.join("\n  ")}\n  the real reply: ${JSON.stringify(body)}`);
    }
    expect(problems.join("\n\n")).toBe("");
  });

  it("are described by the webhook's GET /openapi.json: each request body and each reply fits it, and a body refused as invalid_input does not", async () => {
    expect(exchanges.length).toBe(examples.length);
    const checker = openApiChecker(await (await fetch(`${webhook.url}/openapi.json`)).json());
    const problems = exchanges.flatMap(({ method, path, request, status, body }) => {
      const found: string[] = [];
      const reply = checker.replyProblems(method, path, status, body);
      if (reply) found.push(`reply ${status}: ${reply}`);
      if (request !== undefined) {
        const fits = checker.requestProblems(method, path, request) === "";
        const refusedAsInvalid = (body as { error?: string }).error === "invalid_input";
        if (fits === refusedAsInvalid) found.push(refusedAsInvalid ? "the request fits the document, yet the webhook refused it as invalid_input" : `request: ${checker.requestProblems(method, path, request)}`);
      }
      return found.map((f) => `${method} ${path}: ${f}`);
    });
    expect(problems).toEqual([]);
  });
});

describe("the README's invoke examples", () => {
  it("are each accepted by their handler, run in order on a fresh database", async () => {
    // Only the lines of sh blocks: what a reader pastes.
    const shLines = ALL.flatMap(({ file, text }) =>
      [...text.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((block) => block[1]!.split("\n").map((line) => ({ file, line }))),
    );
    const calls = shLines.flatMap(({ file, line }) => {
      const m = /^npx tsx runner invoke (\w+)(?: '([^']*)')?/.exec(line);
      return m ? [{ file, line, name: m[1]!, json: m[2] }] : [];
    });
    expect(calls.length).toBeGreaterThan(5);
    const db = await openTestDatabase();
    const ctx = testContext(db.db);
    const refused: string[] = [];
    for (const call of calls) {
      if (!isHandlerName(call.name)) {
        refused.push(`${call.file}: ${call.line}\n  no handler "${call.name}"`);
        continue;
      }
      // As `runner invoke` does: no JSON is {}.
      const result = await handlers[call.name].run(call.json === undefined ? {} : JSON.parse(call.json), ctx);
      if (!result.ok) refused.push(`${call.file}: ${call.line}\n  ${result.error.code}: ${result.error.message}`);
    }
    expect(refused.join("\n")).toBe("");
  });
});

describe("the commands and files the README and docs/ name", () => {
  const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);
  const commands = Object.keys(COMMANDS);
  const projects = [...readFileSync(join(ROOT, "vitest.config.ts"), "utf8").matchAll(/name: "([\w-]+)"/g)].map((m) => m[1]!);

  /** Every match of `pattern` in README.md and docs/*.md, with where it is. */
  const named = (pattern: RegExp) => ALL.flatMap(({ file, text }) => [...text.matchAll(pattern)].map((m) => ({ file, match: m })));

  it("npm scripts exist in package.json", () => {
    const missing = named(/\bnpm (?:run )?([\w:-]+)/g)
      .map(({ file, match }) => ({ file, name: match[1]! }))
      .filter(({ name }) => !["ci", "install", "run"].includes(name))
      .filter(({ name }) => !scripts.includes(name));
    expect(missing).toEqual([]);
  });

  it("runner commands exist in runner/cli/commands.ts, and invoked handlers in functions/index.ts", () => {
    const found = named(/(?:tsx runner|`runner|runner\/index\.ts) ([\w-]+)(?: (\w+))?/g);
    expect(found.length).toBeGreaterThan(10);
    const missing = found.flatMap(({ file, match }) => {
      const [, command, next] = match;
      if (/^[A-Z]+$/.test(command!)) return []; // a placeholder such as NAME
      const problems: string[] = [];
      if (!commands.includes(command!) && !["--help", "-h", "help"].includes(command!)) problems.push(`${file}: no runner command "${command}"`);
      if (command === "invoke" && next && !/^[A-Z]+$/.test(next) && !Object.hasOwn(handlers, next)) problems.push(`${file}: no handler "${next}"`);
      return problems;
    });
    expect(missing).toEqual([]);
  });

  it("vitest projects exist in vitest.config.ts", () => {
    const missing = named(/--project ([\w-]+)/g)
      .map(({ file, match }) => ({ file, project: match[1]! }))
      .filter(({ project }) => !projects.includes(project));
    expect(missing).toEqual([]);
  });

  it("files and folders of the project exist, and links between the documents lead somewhere", () => {
    const paths = named(/(?<![\w/.-])((?:functions|shared|runner|test|systemd|docs|\.ci)\/[\w./-]*)/g)
      .map(({ file, match }) => ({ file, path: match[1]!.replace(/[.,]+$/, "") }))
      .filter(({ path }) => !/NAME/.test(path));
    const links = ALL.flatMap(({ file, text }) =>
      [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .filter((m) => !/^\w+:/.test(m[1]!))
        .map((m) => ({ file, path: join(dirname(file), m[1]!) })),
    );
    expect(paths.length).toBeGreaterThan(30);
    expect([...paths, ...links].filter(({ path }) => !existsSync(join(ROOT, path)))).toEqual([]);
  });
});
