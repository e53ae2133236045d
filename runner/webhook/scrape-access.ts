import type { MiddlewareHandler } from "hono";
import { isLoopback } from "../platform/addresses.ts";
import { failureResponse } from "../platform/outcome.ts";
import { createAccess } from "../viewer/access.ts";

const HOW = 'Scrape with the viewer\'s password as HTTP Basic (any user name; basic_auth in the Prometheus scrape config, see docs/metrics.md).';

/**
 * Who may read /metrics: the viewer's rules (README, "The viewer": access).
 * On a loopback HOST anyone on the machine may; off loopback only with
 * WEB_PASSWORD, as HTTP Basic, with the viewer's wait after wrong
 * passwords; off loopback without a password set, nobody.
 */
export function scrapeAccess(host: string, password: string | undefined): MiddlewareHandler {
  if (isLoopback(host)) return (_c, next) => next();
  if (password === undefined)
    return async (c) =>
      failureResponse(c, {
        code: "unauthorized",
        message: `The webhook listens off loopback (HOST=${host}) and WEB_PASSWORD is not set, so /metrics is closed. Set WEB_PASSWORD and restart; then ${HOW}`,
      });
  const access = createAccess(password, (c, status, message) => {
    const res = failureResponse(c, {
      code: status === 429 ? "rate_limited" : "unauthorized",
      message: message === "" ? `/metrics needs the viewer's password here. ${HOW}` : message,
    });
    // Here the password goes as HTTP Basic, not an agent's Bearer token.
    if (status === 401) res.headers.set("WWW-Authenticate", 'Basic realm="resource-share metrics"');
    return res;
  });
  return access.guard;
}
