import { handlers } from "../../functions/index.ts";

export function helpText(): string {
  const lines = [
    "Resource-Share: tracks how a family of agents spends a shared token budget.",
    "",
    "Usage: tsx runner <command>",
    "",
    "Commands:",
    "  start                     webhook (:8765), viewer (:8082) and daily catch-up in one process (npm start)",
    "  serve                     the webhook only (resource-share-server.service)",
    "  aggregate                 close every day not closed yet, or with late reports, up to yesterday",
    "                            (the daily timer's command; same as invoke aggregateDay '{}')",
    "  web                       the viewer only, read-only (resource-share-web.service)",
    "  invoke NAME ['{json}']    run one handler and print its JSON result; '-' reads the JSON from stdin",
    "                            exit 0 done, 1 input refused, 2 fault",
    "  copy --to URL             copy every row into another database (file <-> libSQL server),",
    "                            resumable, verified by row counts and sums; copy --help for more",
    "  --help                    this text",
    "",
    "Handlers:",
  ];
  for (const [name, entry] of Object.entries(handlers)) {
    lines.push(`  ${name.padEnd(14)} ${entry.description}`);
    lines.push(`  ${"".padEnd(14)} tsx runner invoke ${name} '${entry.example}'`);
  }
  lines.push("", 'Settings come from environment variables; see the README, section "Configuration".');
  return `${lines.join("\n")}\n`;
}
