import type { ServerType } from "@hono/node-server";
import type { Logger } from "./log.ts";

/**
 * Stops cleanly on SIGTERM (systemd) and SIGINT (Ctrl-C): stop accepting
 * connections, let requests in flight finish, then run the closers (close
 * the database last). A stuck close is cut off after a few seconds.
 */
export function stopOnSignals(log: Logger, servers: ServerType[], closers: (() => void | Promise<void>)[]): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received: finishing requests in flight, then stopping`);
    setTimeout(() => {
      log.error("stop took longer than 5 s; exiting anyway");
      log.flush();
      process.exit(1);
    }, 5000).unref();
    void Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))))
      .then(async () => {
        for (const close of closers) await close();
      })
      .then(() => {
        log.info("stopped");
        log.flush();
        process.exit(0);
      });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

/** Resolves once the server listens; rejects with a message a person can act on. */
export function listening(server: ServerType, what: string, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("listening", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE")
        reject(new Error(`Cannot start the ${what}: ${host}:${port} is already in use (is the service already running?). Stop the other process or choose another port.`));
      else if (err.code === "EADDRNOTAVAIL")
        reject(new Error(`Cannot start the ${what}: this machine has no address ${host}. Use 127.0.0.1 or an address of this machine.`));
      else if (err.code === "EACCES")
        reject(new Error(`Cannot start the ${what}: not allowed to listen on ${host}:${port} (ports below 1024 need privileges).`));
      else reject(err);
    });
  });
}
