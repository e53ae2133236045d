import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The arguments after `@NODE@` in a unit's ExecStart (systemd/), so the benchmark runs what systemd runs. */
export function deployedArguments(unit: string): string[] {
  const text = readFileSync(join("systemd", unit), "utf8");
  const exec = /^ExecStart=@NODE@ (.+)$/m.exec(text);
  if (!exec) throw new Error(`systemd/${unit} has no ExecStart=@NODE@ line`);
  return exec[1]!.trim().split(/\s+/);
}
