import type { Context } from "../shared/context.ts";
import { SCHEMA_VERSION, schemaVersion } from "../shared/migrations.ts";
import { ok, type Result } from "../shared/result.ts";
import { familyStateOf } from "./advice/load.ts";
import { windowsNow, type WindowNow } from "./advice/windows.ts";
import { receiverStatus, type ReceiverStatus } from "./alerts/list.ts";

export interface HealthOutput {
  status: "ok";
  database: "reachable";
  schema_version: number;
  expected_schema_version: number;
  agents_registered: number;
  last_increment_id: number;
  last_report_at: string | null;
  /** The quota windows now, as GET /resource/quota gives them. */
  quota: WindowNow[];
  /** Alerts firing now, and delivery per receiver (named by its redacted URL): a receiver refusing notifications shows here. */
  alerts: { firing: number; receivers: ReceiverStatus[] };
}

/**
 * Checks that the database answers and the schema is current. A database
 * that does not answer is a fault (thrown), which the runner reports as 503.
 * @example tsx runner invoke health '{}'
 */
export async function health(_input: unknown, ctx: Context): Promise<Result<HealthOutput>> {
  const version = await schemaVersion(ctx.db);
  const rs = await ctx.db.execute(
    `SELECT (SELECT count(*) FROM claude_identities) AS agents,
            (SELECT max(id) FROM resource_share_increments) AS last_increment_id,
            (SELECT max(last_seen) FROM claude_identities) AS last_report_at,
            (SELECT count(*) FROM alerts WHERE state = 'firing') AS firing`,
  );
  const r = rs.rows[0]!;
  return ok({
    status: "ok",
    database: "reachable",
    schema_version: version,
    expected_schema_version: SCHEMA_VERSION,
    agents_registered: Number(r.agents),
    last_increment_id: Number(r.last_increment_id ?? 0),
    last_report_at: r.last_report_at === null ? null : String(r.last_report_at),
    quota: windowsNow(await familyStateOf(ctx), ctx.now().getTime()),
    alerts: { firing: Number(r.firing), receivers: await receiverStatus(ctx.db) },
  });
}
