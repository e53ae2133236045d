import * as v from "valibot";
import type { Context, Db } from "../shared/context.ts";
import { claudeName } from "../shared/fields.ts";
import { fail, ok, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";

/**
 * Per-agent tokens: a token proves which agent a report comes from. Only a
 * SHA-256 hash is stored (Web Crypto, available on edge runtimes too), so a
 * copy of the database does not let anyone write as an agent; the token
 * itself is shown once, when issued.
 */

const agentInput = v.object({ claude_name: claudeName });

// A name that never reported is most often a typo: issuing would register
// it, and it would show as an agent from then on. Only on request.
const issueInput = v.object({ claude_name: claudeName, register: v.optional(v.boolean(), false) });

export interface IssuedToken {
  status: "success";
  claude_name: string;
  token: string;
  note: string;
}

export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `rs_${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/**
 * Issues a new token for a known agent (one that has reported or was
 * registered); any earlier token of that agent stops working. A new agent
 * is registered only with `"register": true`.
 * @example tsx runner invoke issueToken '{"claude_name":"Sparkle-Orange"}'
 */
export async function issueToken(input: unknown, ctx: Context): Promise<Result<IssuedToken>> {
  const parsed = validate(issueInput, input);
  if (!parsed.ok) return parsed;
  const name = parsed.value.claude_name;
  const token = newToken();
  const hash = await hashToken(token);
  if (parsed.value.register)
    await ctx.db.execute({
      sql: `INSERT INTO claude_identities (name, first_seen, last_seen, active, token_hash) VALUES (?, ?, NULL, 1, ?)
            ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash`,
      args: [name, ctx.now().toISOString(), hash],
    });
  else {
    const rs = await ctx.db.execute({ sql: "UPDATE claude_identities SET token_hash = ? WHERE name = ?", args: [hash, name] });
    if (rs.rowsAffected === 0) {
      const message = `no agent named ${JSON.stringify(name)} has reported yet; check the spelling (names are case-sensitive), or add "register": true to register a new agent`;
      return fail("not_found", `claude_name: ${message}. No token was issued.`, [{ field: "claude_name", message }]);
    }
  }
  return ok({
    status: "success",
    claude_name: name,
    token,
    note: "Shown once; only its hash is kept. Give it to the agent's client as `Authorization: Bearer <token>`.",
  });
}

/**
 * Revokes an agent's token: its writes need a newly issued one.
 * @example tsx runner invoke revokeToken '{"claude_name":"Sparkle-Orange"}'
 */
export async function revokeToken(input: unknown, ctx: Context): Promise<Result<{ status: "success"; claude_name: string; revoked: true }>> {
  const parsed = validate(agentInput, input);
  if (!parsed.ok) return parsed;
  const name = parsed.value.claude_name;
  const rs = await ctx.db.execute({ sql: "UPDATE claude_identities SET token_hash = NULL WHERE name = ?", args: [name] });
  if (rs.rowsAffected === 0) return fail("not_found", `claude_name: no agent named ${JSON.stringify(name)}`);
  return ok({ status: "success", claude_name: name, revoked: true });
}

/** The agent a token belongs to, or undefined for an unknown or revoked token. */
export async function agentForToken(db: Db, token: string): Promise<string | undefined> {
  const rs = await db.execute({ sql: "SELECT name FROM claude_identities WHERE token_hash = ?", args: [await hashToken(token)] });
  const name = rs.rows[0]?.name;
  return typeof name === "string" ? name : undefined;
}
