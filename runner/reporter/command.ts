import type { Config } from "../../shared/config.ts";
import { EXIT_FAULT, EXIT_OK, EXIT_REFUSED } from "../platform/outcome.ts";
import { deliver, type Delivery } from "./deliver.ts";
import { takeLock } from "./lock.ts";
import { modeFromTmux } from "./mode.ts";
import { readPass, type PassSummary } from "./pass.ts";
import { Queue } from "./queue.ts";
import { StateStore } from "./state.ts";
import { REPORT_USAGE, reporterSettings, type ReporterSettings } from "./settings.ts";

/** `tsx runner report`: one pass with --once, else a pass every --every seconds until SIGTERM or SIGINT. */
export async function reportCommand(_config: Config, args: string[], env: Record<string, string | undefined>): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(REPORT_USAGE);
    return EXIT_OK;
  }
  let s: ReporterSettings;
  let release: () => void;
  try {
    s = reporterSettings(args, env);
    release = takeLock(s.folder);
  } catch (err) {
    process.stderr.write(`report: ${(err as Error).message}\n`);
    return EXIT_REFUSED;
  }
  const queue = new Queue(s.folder);
  const state = new StateStore(s.folder);
  try {
    if (s.once) {
      try {
        return (await pass(s, queue, state)).waiting > 0 ? EXIT_FAULT : EXIT_OK;
      } catch (err) {
        process.stderr.write(`report: the pass failed; nothing moved forward, run it again once this is fixed: ${(err as Error).message}\n`);
        return EXIT_FAULT;
      }
    }
    let stopping = false;
    let wake: () => void = () => {};
    const stop = () => {
      stopping = true;
      wake();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    process.stdout.write(`report: reporting for ${s.agent} to ${s.url} every ${s.everySeconds} s; state in ${s.folder}\n`);
    while (!stopping) {
      try {
        await pass(s, queue, state);
      } catch (err) {
        // A pass that failed (disk full, unreadable state) is tried again next time: nothing moved forward.
        process.stderr.write(`report: this pass failed and will be tried again in ${s.everySeconds} s: ${(err as Error).message}\n`);
      }
      if (stopping) break; // asked to stop during the pass
      // Our own interval, whatever a reply advises: a bad reply cannot put the reporter to sleep for days.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, s.everySeconds * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return EXIT_OK;
  } finally {
    release();
  }
}

async function pass(s: ReporterSettings, queue: Queue, state: StateStore): Promise<Delivery> {
  const decided = s.mode ? { mode: s.mode, why: "set by --mode" } : await modeFromTmux(s.session, s.tmuxSocket);
  const read = readPass({ agent: s.agent, folder: s.folder, dirs: s.dirs, mode: decided.mode, queue, state, now: new Date(), maxAgeDays: s.maxAgeDays });
  const sent = await deliver(queue, s.folder, s.url, s.token);
  process.stdout.write(`${describe(read, sent, decided.mode, decided.why, s)}\n`);
  for (const [model, n] of read.unpriced)
    process.stderr.write(
      `report: warning: model ${model} is not in the price table: ${n} message${n === 1 ? "" : "s"} reported with tokens and no cost. Add it to runner/reporter/prices.json (see docs/reporter.md).\n`,
    );
  if (sent.problem) process.stderr.write(`report: ${sent.problem}; ${sent.waiting} batch${sent.waiting === 1 ? "" : "es"} wait in ${s.folder}/queue.jsonl and go first next time.\n`);
  if (sent.refused > 0) process.stderr.write(`report: the webhook refused ${sent.refused} report(s) as bad input; they are kept with its reasons in ${s.folder}/refused.jsonl.\n`);
  if (s.showAdvice && sent.advice)
    process.stdout.write(`advice: recommended_interval ${JSON.stringify(sent.advice.recommended_interval ?? null)} s; reasons ${JSON.stringify(sent.advice.reasons ?? [])}\n`);
  return sent;
}

function describe(r: PassSummary, d: Delivery, mode: string, why: string, s: ReporterSettings): string {
  const skipped = Object.entries(r.skipped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k === "too_old" ? `older than ${s.maxAgeDays} days` : k.replace("_", " ")}`);
  return [
    `report: ${r.messages} new message(s) from ${r.files} file(s)`,
    `${r.repeats} repeat(s) skipped`,
    ...(skipped.length > 0 ? [`lines skipped: ${skipped.join(", ")}`] : []),
    ...(r.restarted > 0 ? [`${r.restarted} file(s) shrank or were replaced and were read again`] : []),
    `mode ${mode} (${why})`,
    `${d.sent} sent`,
    d.waiting > 0 ? `${d.waiting} batch(es) queued` : "queue empty",
  ].join("; ");
}
