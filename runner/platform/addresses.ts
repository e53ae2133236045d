import { isIP } from "node:net";

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 (however it is written) and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) !== 6) return false;
  // URL writes an IPv6 address in its shortest form: [::1], and [::ffff:7f00:1] for ::ffff:127.0.0.1.
  const shortest = new URL(`http://[${h}]/`).hostname;
  return shortest === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(shortest);
}

/** A database URL as it may be shown in a log line or a message: no query string (it can carry an authToken), no user:password. */
export function showUrl(url: string): string {
  return url.replace(/\?.*$/, "").replace(/\/\/[^/@]*@/, "//");
}
