import { serve } from "@hono/node-server";
import { Hono } from "hono";

/**
 * The reference for the ingest figures: the same route on the same stack
 * (hono on @hono/node-server, one process), reading the JSON body and
 * answering 200, but storing, validating and logging nothing. Whatever the
 * webhook does beyond this is the cost of its real work.
 *
 * Run: node --import tsx test/bench/bare-endpoint.ts (PORT=0 for any free port).
 */
const app = new Hono();
let stored = 0;
app.post("/resource-share/increment", async (c) => {
  const body = (await c.req.json()) as { claude_name?: unknown; cache_read_increment?: unknown };
  return c.json({ status: "success", claude_name: body.claude_name, tokens_recorded: body.cache_read_increment ?? 0, id: ++stored });
});

const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: Number(process.env.PORT ?? 0) }, (info) => {
  process.stdout.write(`bare endpoint listening on http://127.0.0.1:${info.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
