import { readFileSync, readdirSync, readlinkSync } from "node:fs";

export interface OpenSocket {
  protocol: "tcp" | "tcp6" | "udp" | "udp6";
  address: string;
  port: number;
}

/**
 * Every socket a process listens on (TCP in LISTEN state, and any bound UDP
 * socket), read from /proc: lets a test check that a server it started
 * accepts connections on loopback only.
 */
export function listeningSockets(pid: number): OpenSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // the descriptor closed while we looked
    }
  }
  const found: OpenSocket[] = [];
  for (const protocol of ["tcp", "tcp6", "udp", "udp6"] as const) {
    const lines = readFileSync(`/proc/${pid}/net/${protocol}`, "utf8").trim().split("\n").slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      const [local, state, inode] = [f[1]!, f[3]!, f[9]!];
      const listening = protocol.startsWith("tcp") ? state === "0A" : true;
      if (!listening || !inodes.has(inode)) continue;
      const [hex, portHex] = local.split(":") as [string, string];
      found.push({ protocol, address: decodeAddress(hex), port: parseInt(portHex, 16) });
    }
  }
  return found;
}

/** /proc/net addresses are little-endian hex words. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(""));
  if (words.length === 1) return words[0]!.match(/../g)!.map((b) => parseInt(b, 16)).join(".");
  const full = words.join("");
  if (full === "00000000000000000000000000000001") return "::1";
  if (full.startsWith("00000000000000000000FFFF")) return full.slice(24).match(/../g)!.map((b) => parseInt(b, 16)).join(".");
  return full.match(/.{4}/g)!.join(":").toLowerCase();
}

/** True for 127.0.0.0/8 and ::1. */
export const isLoopback = (address: string): boolean => /^127\./.test(address) || address === "::1";
