import type { Config } from "../../shared/config.ts";
import { openDatabase, type Database } from "../platform/libsql-client.ts";
import { migrate, schemaVersion } from "../../shared/migrations.ts";
import { copyTable, dataTables, foreignRows, sameSum, tableShape, tableTotals, type TableShape, type TableTotals } from "./copy-tables.ts";
import { filePath, openConfigured, StartupError } from "../platform/database.ts";
import { EXIT_FAULT, EXIT_OK, EXIT_REFUSED } from "../platform/outcome.ts";
import { showUrl } from "../platform/addresses.ts";
import { fail, ok, type Result } from "../../shared/result.ts";
import { restartRollup } from "../../shared/rollup.ts";

const USAGE = `Usage: tsx runner copy --to URL [--chunk ROWS]

Copies every row of the database in DATABASE_URL into the database at URL
(a file: path or a libSQL server), gives the destination its schema through
the same migrations, then checks row counts and sums table by table.
Run again (after an interruption), it writes only what the destination lacks.
A destination holding rows that are not this source's is refused, unchanged.
The destination's token, if it needs one, comes from COPY_TO_AUTH_TOKEN.

  tsx runner copy --to http://db-host:8080              embedded file -> server
  DATABASE_URL=http://db-host:8080 tsx runner copy --to file:data/copy.db   and back
`;

interface CopyArgs {
  to: string;
  chunkRows: number;
}

function parseArgs(args: string[]): Result<CopyArgs> {
  const refuse = (message: string) => fail("invalid_input", message);
  let to: string | undefined;
  let chunkRows = 500;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => inline ?? args[++i];
    if (flag === "--to") to = value();
    else if (flag === "--chunk") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 5000) return refuse("--chunk must be a whole number of rows from 1 to 5000.");
      chunkRows = n;
    } else return refuse(`Unknown argument "${arg}".`);
  }
  if (!to) return refuse("Name the destination with --to URL.");
  if (!/^(file|libsql|http|https|ws|wss):/.test(to)) return refuse("--to must start with file:, libsql:, http(s): or ws(s):.");
  return ok({ to, chunkRows });
}

function sameDatabase(a: string, b: string): boolean {
  const fa = filePath(a);
  const fb = filePath(b);
  return fa !== undefined || fb !== undefined ? fa === fb : showUrl(a) === showUrl(b);
}

/** `tsx runner copy --to URL`: see USAGE. Progress on stderr, the summary on stdout. */
export async function copyCommand(config: Config, args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  const result = parseArgs(args);
  if (!result.ok) {
    process.stderr.write(`${result.error.message}\n\n${USAGE}`);
    return EXIT_REFUSED;
  }
  const parsed = result.value;
  if (sameDatabase(config.databaseUrl, parsed.to)) {
    process.stderr.write("The destination is the database in DATABASE_URL itself; name another with --to.\n");
    return EXIT_REFUSED;
  }
  const say = (line: string) => process.stderr.write(`copy: ${line}\n`);
  let from: Database | undefined;
  let to: Database | undefined;
  try {
    // bigint: integers beyond 2^53 (old rows, sums) are copied and compared exactly.
    from = await openConfigured(config, { intMode: "bigint" });
    try {
      to = await openConfigured(
        { ...config, databaseUrl: parsed.to, databaseAuthToken: config.copyToAuthToken },
        { intMode: "bigint", settings: { url: "--to", token: "COPY_TO_AUTH_TOKEN" } },
      );
    } catch (err) {
      if (err instanceof StartupError) throw new StartupError(`The destination: ${err.message}`);
      throw err;
    }
    const [vFrom, vTo] = [await schemaVersion(from.db), await schemaVersion(to.db)];
    if (vFrom !== vTo)
      throw new StartupError(
        `The source has schema version ${vFrom} and the destination ${vTo}: one of them was made by a newer Resource-Share. Update this checkout and run the copy again.`,
      );
    say(`${showUrl(config.databaseUrl)} -> ${showUrl(parsed.to)} (schema version ${vFrom}, ${parsed.chunkRows} rows a chunk)`);
    const report = await copyAll(from, to, parsed.chunkRows, say);
    process.stdout.write(report.text);
    if (report.mismatches.length > 0) {
      process.stderr.write(
        `The copy does not match the source:\n  ${report.mismatches.join("\n  ")}\n` +
          "Was something writing to either database during the copy? " +
          "Stop the services, copy into an empty database, and run the copy again.\n",
      );
      return EXIT_FAULT;
    }
    return EXIT_OK;
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_REFUSED;
    }
    process.stderr.write(
      `The copy stopped: ${(err as Error).message}\nEvery chunk copied so far is complete; run the same command again to resume.\n`,
    );
    return EXIT_FAULT;
  } finally {
    from?.close();
    to?.close();
  }
}

interface CopyReport {
  text: string;
  mismatches: string[];
}

async function copyAll(from: Database, to: Database, chunkRows: number, say: (line: string) => void): Promise<CopyReport> {
  const sourceTables = await dataTables(from.db);
  const destTables = new Set(await dataTables(to.db));
  const missing = sourceTables.filter((t) => !destTables.has(t));
  if (missing.length > 0)
    throw new StartupError(`The destination has no table ${missing.join(", ")}: the source was made by another program or a newer version. Nothing was copied.`);
  const shapes: TableShape[] = [];
  for (const name of sourceTables) {
    const shape = await tableShape(from.db, name);
    const destShape = await tableShape(to.db, name);
    const absent = shape.columns.filter((c) => !destShape.columns.includes(c));
    if (absent.length > 0) throw new StartupError(`The destination's table ${name} has no column ${absent.join(", ")}. Nothing was copied.`);
    shapes.push(shape);
  }
  await refuseForeignRows(from, to, shapes, chunkRows, say);
  const lines: string[] = [];
  const mismatches: string[] = [];
  for (const shape of shapes) {
    const name = shape.name;
    const total = (await tableTotals(from.db, shape)).rows;
    let shown = Date.now();
    const result = await copyTable(from.db, to.db, shape, {
      chunkRows,
      onChunk: (p) => {
        if (Date.now() - shown < 1000) return;
        shown = Date.now();
        say(`${name}: ${(p.skipped + p.copied).toLocaleString("en")} of ${total.toLocaleString("en")} rows`);
      },
    });
    const [a, b] = [await tableTotals(from.db, shape), await tableTotals(to.db, shape)];
    mismatches.push(...compare(shape, a, b));
    say(`${name}: ${result.copied.toLocaleString("en")} rows copied, ${result.skipped.toLocaleString("en")} already there`);
    lines.push(summaryLine(shape, a, b, result.copied, result.skipped));
  }
  // The copy's hourly rollup starts afresh: its next start builds it from the reports now there (docs/rollups.md).
  await restartRollup(to.db);
  say("usage_hourly: emptied, to be rebuilt from the copied reports when the service next starts on the copy");
  const header = `${"table".padEnd(28)}${"source".padStart(10)}${"copy".padStart(10)}${"copied".padStart(10)}${"skipped".padStart(10)}  sums (source = copy)`;
  const verdict =
    mismatches.length === 0
      ? "Verified: every table has the same row count and the same sums in both databases."
      : `NOT verified: ${mismatches.length} difference(s), listed on stderr.`;
  return { text: `${header}\n${lines.join("\n")}\n${verdict}\n`, mismatches };
}

/**
 * Refuses, before anything is written, a destination holding rows this
 * source did not put there (see foreignRows): the copy would overwrite them.
 */
async function refuseForeignRows(from: Database, to: Database, shapes: TableShape[], chunkRows: number, say: (line: string) => void): Promise<void> {
  // What the migrations alone put in a new database: rows a destination may hold that the source replaces.
  const seed = await openDatabase({ url: "file::memory:", intMode: "bigint" });
  const found: string[] = [];
  try {
    await migrate(seed.client);
    for (const shape of shapes) {
      const f = await foreignRows(from.db, to.db, seed.db, shape, chunkRows);
      if (f.count > 0) found.push(`${shape.name}: ${f.count.toLocaleString("en")} row(s); the first, ${f.example}`);
    }
  } finally {
    seed.close();
  }
  if (found.length === 0) {
    say("the destination holds nothing but rows of this source (none, or an earlier copy's)");
    return;
  }
  throw new StartupError(
    "The destination already holds rows that are not this source's, and the copy would overwrite them:\n" +
      `  ${found.join("\n  ")}\n` +
      "Nothing was written. Copy into an empty database (a new file, or a new database on the server). " +
      "If the destination is an earlier copy of this source, the source changed since (were the services running?): copy into an empty database too.",
  );
}

function compare(shape: TableShape, a: TableTotals, b: TableTotals): string[] {
  const out: string[] = [];
  if (a.rows !== b.rows) out.push(`${shape.name}: ${a.rows.toLocaleString("en")} rows in the source, ${b.rows.toLocaleString("en")} in the copy`);
  for (const c of shape.numeric)
    if (!sameSum(a.sums[c]!, b.sums[c]!)) out.push(`${shape.name}.${c}: sum ${a.sums[c]} in the source, ${b.sums[c]} in the copy`);
  return out;
}

// The totals a person checks first; the parts (autonomous_/collaborative_) are compared but not shown.
const SHOWN = /(tokens|increment|cost)/;
const PART = /^(autonomous|collaborative)_/;

function summaryLine(shape: TableShape, a: TableTotals, b: TableTotals, copied: number, skipped: number): string {
  const n = (x: number) => x.toLocaleString("en");
  const sums = shape.numeric
    .filter((c) => SHOWN.test(c) && !PART.test(c))
    .map((c) => `${c} ${formatSum(a.sums[c]!)}${sameSum(a.sums[c]!, b.sums[c]!) ? " =" : " != " + formatSum(b.sums[c]!)}`)
    .join("; ");
  return `${shape.name.padEnd(28)}${n(a.rows).padStart(10)}${n(b.rows).padStart(10)}${n(copied).padStart(10)}${n(skipped).padStart(10)}  ${sums}`;
}

const formatSum = (v: bigint | number) => (typeof v === "bigint" ? v.toLocaleString("en") : Number(v.toFixed(6)).toString());
