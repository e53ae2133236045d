import type { Context as HonoContext } from "hono";
import { agentForToken, hashToken } from "../../functions/agentToken.ts";
import type { Db } from "../../shared/context.ts";
import { isUnavailable } from "../platform/libsql-client.ts";
import { loggedPath } from "../platform/http.ts";
import type { Logger } from "../platform/log.ts";

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/** Off loopback anyone on the network could report as any agent, so writes need a token there. */
export const tokensRequired = (host: string, requireTokens: boolean): boolean => requireTokens || !isLoopback(host);

/**
 * Who may write. Returns the agent the request's token belongs to,
 * undefined when it carries none and none is required, or the 401 to send.
 * A token that is sent is always checked, required or not. Tokens never
 * reach a log line or a reply.
 */
export function writeAuth(db: Db, required: boolean, log: Logger) {
  // The last verified agent per token hash, used only while the database
  // cannot be read, so that a server outage does not lock agents out.
  const known = new Map<string, string>();

  function refuse(c: HonoContext, reason: string): Response {
    log.warn(`401 ${c.req.method} ${loggedPath(c)}: ${reason}`);
    c.header("WWW-Authenticate", 'Bearer realm="resource-share"');
    return c.json({ status: "error", error: "unauthorized", message: `${reason}; nothing was stored. Ask for the agent's token: tsx runner invoke issueToken '{"claude_name":"..."}'.` }, 401);
  }

  async function agentOf(c: HonoContext): Promise<string | undefined | Response> {
    const header = c.req.header("authorization");
    if (header === undefined) return required ? refuse(c, "this webhook needs `Authorization: Bearer <token>` for writes") : undefined;
    const m = /^Bearer\s+([\x21-\x7e]{1,512})\s*$/i.exec(header);
    if (!m) return refuse(c, "the Authorization header must be `Bearer <token>`");
    const token = m[1]!;
    let agent: string | undefined;
    try {
      agent = await agentForToken(db, token);
      if (agent === undefined) return refuse(c, "unknown or revoked token");
      if (known.size > 10_000) known.clear();
      known.set(await hashToken(token), agent);
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      agent = known.get(await hashToken(token));
      if (agent === undefined) throw err;
    }
    return agent;
  }

  /** 401 unless every report names the token's agent: an agent cannot report as another. */
  function mismatch(c: HonoContext, agent: string | undefined, names: string[]): Response | undefined {
    if (agent === undefined) return undefined;
    const other = names.find((n) => n !== agent);
    return other === undefined ? undefined : refuse(c, `the token belongs to ${JSON.stringify(agent)}, not to ${JSON.stringify(other)}`);
  }

  return { agentOf, mismatch };
}
