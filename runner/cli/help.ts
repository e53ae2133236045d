import { handlers, type HandlerEntry } from "../../functions/index.ts";
import { COMMANDS } from "./commands.ts";

export function helpText(): string {
  const lines = ["Resource-Share: tracks how a family of agents spends a shared token budget.", "", "Usage: tsx runner <command>", "", "Commands:"];
  for (const command of [...Object.values(COMMANDS), { usage: "--help", summary: ["this text"] }])
    command.summary.forEach((line, i) => lines.push(`  ${(i === 0 ? command.usage : "").padEnd(25)} ${line}`));
  lines.push("", "Handlers:");
  for (const [name, entry] of Object.entries(handlers)) {
    lines.push(`  ${name.padEnd(14)} ${entry.description}`);
    lines.push(`  ${"".padEnd(14)} tsx runner invoke ${name} '${entry.example}'`);
    const formats = Object.keys((entry as HandlerEntry).formats ?? {});
    if (formats.length > 0) lines.push(`  ${"".padEnd(14)} --format ${["json", ...formats].join(" | ")} (json unless told)`);
  }
  lines.push("", 'Settings come from environment variables; see the README, section "Configuration".');
  return `${lines.join("\n")}\n`;
}
