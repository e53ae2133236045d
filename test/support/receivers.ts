import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the receiver answers: 200, a status of choice, or never (holds the request open). */
export type Answer = { status: number } | "hang";

/**
 * A real HTTP receiver on a loopback port that records every request it
 * gets. It can be stopped and started again on the same port (a receiver
 * that is down, then back).
 */
export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  answer: Answer;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  let server: Server | undefined;
  const r: Receiver = {
    url: "",
    port,
    received: [],
    answer: { status: 200 },
    async start() {
      server = createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (d: string) => (body += d));
        req.on("end", () => {
          r.received.push({ path: req.url ?? "", headers: req.headers, body });
          if (r.answer === "hang") return;
          res.writeHead(r.answer.status, { "content-type": "text/plain" }).end(r.answer.status < 300 ? "ok" : "no such webhook");
        });
      });
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(r.port, "127.0.0.1", () => resolve());
      });
      r.port = (server.address() as AddressInfo).port;
      r.url = `http://127.0.0.1:${r.port}`;
    },
    async stop() {
      if (!server) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    },
  };
  await r.start();
  return r;
}
