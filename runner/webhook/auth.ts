import type { Context as HonoContext } from "hono";
import { agentForToken, hashToken } from "../../functions/agentToken.ts";
import type { Db } from "../../shared/context.ts";
import { isUnavailable } from "../platform/libsql-client.ts";
import { isLoopback } from "../platform/addresses.ts";
import { loggedPath } from "../platform/http.ts";
import type { Logger } from "../platform/log.ts";
import { fail, ok, type Result } from "../../shared/result.ts";

/** Off loopback anyone on the network could report as any agent, so writes need a token there. */
export const tokensRequired = (host: string, requireTokens: boolean): boolean => requireTokens || !isLoopback(host);

/**
 * Who may write. Returns the agent the request's token belongs to,
 * undefined when it carries none and none is required, or the failure to
 * answer (401). A token that is sent is always checked, required or not.
 * Tokens never reach a log line or a reply. That a report names the token's
 * own agent is the ingest handlers' check (functions/ingest.ts).
 */
export function writeAuth(db: Db, required: boolean, log: Logger) {
  // The last verified agent per token hash, used only while the database
  // cannot be read, so that a server outage does not lock agents out.
  const known = new Map<string, string>();

  function refuse(c: HonoContext, reason: string): Result<never> {
    log.warn(`401 ${c.req.method} ${loggedPath(c)}: ${reason}`);
    return fail("unauthorized", `${reason}; nothing was stored. Ask for the agent's token: tsx runner invoke issueToken '{"claude_name":"..."}'.`);
  }

  async function agentOf(c: HonoContext): Promise<Result<string | undefined>> {
    const header = c.req.header("authorization");
    if (header === undefined) return required ? refuse(c, "this webhook needs `Authorization: Bearer <token>` for writes") : ok(undefined);
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
    return ok(agent);
  }

  return { agentOf };
}
