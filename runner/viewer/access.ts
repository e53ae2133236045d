import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

export const SESSION_COOKIE = "rs_viewer_session";
const SESSION_MS = 12 * 3_600_000;
/** Wrong passwords allowed from one address before it has to wait. */
const FREE_FAILURES = 3;
const FIRST_WAIT_MS = 5_000;
const MAX_WAIT_MS = 60_000;

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

export interface Access {
  /** Middleware: lets a request through, or answers 401 with the login form. */
  guard: MiddlewareHandler;
  /** Checks a login attempt; sets the session cookie on success. */
  login(c: Context, password: string): LoginOutcome;
  logout(c: Context): void;
  enabled: boolean;
}

export type LoginOutcome = { ok: true } | { ok: false; waitSeconds: number; tooMany: boolean };

/**
 * Password access for the viewer. Comparing SHA-256 digests with
 * timingSafeEqual keeps the time independent of how much of a guess is
 * right; each address gets a few free failures, then must wait 5 s, twice
 * as long after each further one (up to a minute), so guessing is slow.
 */
export function createAccess(password: string | undefined, refused: (c: Context, status: 401 | 429, message: string) => Response | Promise<Response>): Access {
  const expected = password === undefined ? undefined : digest(password);
  const sessions = new Map<string, number>();
  const failures = new Map<string, { count: number; until: number }>();

  const addressOf = (c: Context): string => {
    try {
      return getConnInfo(c).remote.address ?? "unknown";
    } catch {
      return "unknown";
    }
  };
  const waitFor = (address: string): number => {
    const f = failures.get(address);
    return f ? Math.max(0, f.until - Date.now()) : 0;
  };
  const check = (c: Context, given: string): LoginOutcome => {
    const address = addressOf(c);
    const wait = waitFor(address);
    if (wait > 0) return { ok: false, waitSeconds: Math.ceil(wait / 1000), tooMany: true };
    if (expected && timingSafeEqual(digest(given), expected)) {
      failures.delete(address);
      return { ok: true };
    }
    if (failures.size > 10_000) for (const [k, f] of failures) if (f.until < Date.now() - MAX_WAIT_MS) failures.delete(k);
    const f = failures.get(address) ?? { count: 0, until: 0 };
    f.count += 1;
    const extra = f.count - FREE_FAILURES;
    f.until = extra > 0 ? Date.now() + Math.min(FIRST_WAIT_MS * 2 ** (extra - 1), MAX_WAIT_MS) : 0;
    failures.set(address, f);
    return { ok: false, waitSeconds: Math.ceil(waitFor(address) / 1000), tooMany: false };
  };
  const validSession = (c: Context): boolean => {
    const token = getCookie(c, SESSION_COOKIE);
    if (!token) return false;
    const until = sessions.get(token);
    if (until === undefined) return false;
    if (until < Date.now()) {
      sessions.delete(token);
      return false;
    }
    return true;
  };

  const guard: MiddlewareHandler = async (c, next) => {
    if (!expected) return next();
    const path = c.req.path;
    if (path === "/login" || path === "/assets/style.css") return next();
    if (validSession(c)) return next();
    // HTTP Basic for scripts (curl -u :password); any user name is accepted.
    const auth = c.req.header("authorization");
    if (auth?.startsWith("Basic ")) {
      const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
      const outcome = check(c, decoded.slice(decoded.indexOf(":") + 1));
      if (outcome.ok) return next();
      return refused(c, outcome.tooMany ? 429 : 401, failureText(outcome));
    }
    // No attempt yet: the login form alone, without an error.
    return refused(c, 401, "");
  };

  return {
    enabled: expected !== undefined,
    guard,
    login(c, given) {
      const outcome = check(c, given);
      if (outcome.ok) {
        const token = randomBytes(32).toString("base64url");
        for (const [k, until] of sessions) if (until < Date.now()) sessions.delete(k);
        sessions.set(token, Date.now() + SESSION_MS);
        setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/", maxAge: SESSION_MS / 1000 });
      }
      return outcome;
    },
    logout(c) {
      const token = getCookie(c, SESSION_COOKIE);
      if (token) sessions.delete(token);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
    },
  };
}

export function failureText(outcome: Exclude<LoginOutcome, { ok: true }>): string {
  if (outcome.tooMany) return `Too many wrong passwords from your address. Try again in ${outcome.waitSeconds} s.`;
  return outcome.waitSeconds > 0
    ? `Wrong password. Several wrong passwords in a row: wait ${outcome.waitSeconds} s before the next try.`
    : "Wrong password.";
}
