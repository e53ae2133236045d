import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * One reporter per agent: two would read the same transcripts into the
 * same queue. The lock file holds the owner's pid; one left by a reporter
 * that was killed (its pid is gone) is taken over.
 */
export function takeLock(folder: string): () => void {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const path = join(folder, "lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(path, "utf8"));
      if (Number.isSafeInteger(owner) && owner > 0 && alive(owner))
        throw new Error(`another reporter (pid ${owner}) is running for this agent (its lock is ${path}); stop it first, or leave it running`);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not take the lock ${path}: another reporter keeps taking it`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
