import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";

/** The CI environment variable as CI services set it (`.ci/run` sets CI=1). */
const inCI = !["", "0", "false"].includes((process.env.CI ?? "").toLowerCase());

/**
 * Whether a small tmpfs can be mounted here (root, and a kernel that lets
 * this process mount). Where it cannot, outside CI, the disk-full tests are
 * skipped, loudly; in CI they run, and fail at the mount, so that a machine
 * without it cannot pass by leaving them out.
 */
export const skipTmpfsTests: boolean = (() => {
  if (inCI) return false;
  const dir = mkdtempSync(join(tmpdir(), "rs-tmpfs-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "pipe" });
    execFileSync("umount", [dir], { stdio: "pipe" });
    return false;
  } catch (err) {
    console.warn(`Cannot mount a tmpfs here (${(err as Error).message.split("\n")[0]}): the disk-full tests (disk-full.test.ts) are SKIPPED. Run them as root on a machine that allows mount. (With CI set they fail instead.)`);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** A fresh tmpfs of `size` (e.g. "4m") mounted on a new directory, unmounted and removed when the test ends. */
export function mountTmpfs(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), "rs-tmpfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe" });
  onTestFinished(() => {
    execFileSync("umount", ["-l", dir], { stdio: "pipe" });
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
