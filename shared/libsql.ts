/**
 * The part of libSQL's client API that handlers use, declared here rather
 * than imported: @libsql/client's own type files pull in Node's types, and
 * functions/ and shared/ must compile without them (tsconfig.portable.json)
 * so that they can run on an edge runtime. A @libsql/client Client fits
 * these shapes; the runner hands one in wherever a Db is asked for, so the
 * compiler checks that it still does.
 */
export type Value = null | string | number | bigint | ArrayBuffer;
export type InValue = Value | boolean | Uint8Array | Date;
export type InArgs = InValue[] | Record<string, InValue>;
export type InStatement = { sql: string; args?: InArgs } | string;
export type TransactionMode = "write" | "read" | "deferred";

export interface Row {
  length: number;
  [index: number]: Value;
  [name: string]: Value;
}

export interface ResultSet {
  columns: string[];
  columnTypes: string[];
  rows: Row[];
  rowsAffected: number;
  lastInsertRowid: bigint | undefined;
}

export interface Transaction {
  execute(stmt: InStatement): Promise<ResultSet>;
  batch(stmts: InStatement[]): Promise<ResultSet[]>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): void;
}

/** A database as a handler sees it. Handlers never create a client: on an edge runtime one arrives with each call. */
export interface Db {
  execute(stmt: InStatement): Promise<ResultSet>;
  execute(sql: string, args?: InArgs): Promise<ResultSet>;
  batch(stmts: InStatement[], mode?: TransactionMode): Promise<ResultSet[]>;
  transaction(mode?: TransactionMode): Promise<Transaction>;
  readonly protocol: string;
}
