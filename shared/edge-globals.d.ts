/**
 * The web globals handlers and shared code may use: every edge runtime and
 * Node have them. Only tsconfig.portable.json reads this file (the main
 * configuration has Node's own declarations of the same names); anything
 * not declared here (process, Buffer, setTimeout, ...) does not compile in
 * functions/ or shared/.
 */
declare const crypto: {
  getRandomValues<T extends Uint8Array>(array: T): T;
  subtle: { digest(algorithm: "SHA-256", data: Uint8Array): Promise<ArrayBuffer> };
};
declare class TextEncoder {
  encode(input: string): Uint8Array;
}
declare function btoa(data: string): string;
declare class URL {
  constructor(url: string, base?: string);
  readonly hostname: string;
  readonly host: string;
  readonly href: string;
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  readonly pathname: string;
  readonly searchParams: { keys(): IterableIterator<string> };
}
