import type { Db, HandlerConfig } from "../../shared/context.ts";
import type { Access } from "./access.ts";
import type { QueryRunner } from "./console/query-runner.ts";

/** What the viewer's pages are given: nothing global, so tests can build one per case. */
export interface ViewerDeps {
  /** A query-only connection: every write through it fails. */
  db: Db;
  /**
   * What exports stream through: on a file, a query-only connection that
   * keeps its statements prepared (runner/platform/file-connection.ts); `db` otherwise.
   */
  exportDb?: Pick<Db, "execute">;
  config: HandlerConfig;
  now: () => Date;
  access: Access;
  runQuery: QueryRunner;
  /** Loads the query process ahead of the first query: called when the console page is opened. */
  warmQueries?: () => void;
}
