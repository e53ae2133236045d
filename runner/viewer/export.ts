import { csvField } from "../../shared/csv.ts";

/** Export formats the viewer offers for every table, the daily summaries and query results. */
export type ExportFormat = "csv" | "json";

export const isExportFormat = (s: string | undefined): s is ExportFormat => s === "csv" || s === "json";

/** A cell as CSV; a BLOB as base64 text. */
const csvCell = (value: unknown): string => csvField(value instanceof ArrayBuffer ? Buffer.from(value).toString("base64") : value);

function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString("base64");
  return value;
}

// Text handed to the socket at a time: about its buffer's size. A whole
// batch as one string would be a large object, which V8 keeps in the old
// generation until a full collection.
const CHUNK_CHARS = 16 * 1024;

/**
 * A streaming download: rows are pulled a batch at a time as the client
 * reads, so memory holds one batch however large the export is. CSV has a
 * header line; JSON is an array of objects keyed by column name.
 */
export function exportResponse(
  format: ExportFormat,
  filename: string,
  columns: string[],
  batches: AsyncIterable<unknown[][]>,
): Response {
  const encoder = new TextEncoder();
  const iterator = batches[Symbol.asyncIterator]();
  let first = true;
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started) {
          started = true;
          controller.enqueue(encoder.encode(format === "csv" ? `${columns.map(csvField).join(",")}\r\n` : "["));
        }
        const next = await iterator.next();
        if (next.done) {
          if (format === "json") controller.enqueue(encoder.encode(first ? "]\n" : "\n]\n"));
          controller.close();
          return;
        }
        let text = "";
        for (const row of next.value) {
          if (format === "csv") text += `${row.map(csvCell).join(",")}\r\n`;
          else {
            const object = Object.fromEntries(columns.map((c, i) => [c, jsonValue(row[i])]));
            text += `${first ? "\n" : ",\n"}${JSON.stringify(object)}`;
            first = false;
          }
          if (text.length >= CHUNK_CHARS) {
            controller.enqueue(encoder.encode(text));
            text = "";
          }
        }
        if (text) controller.enqueue(encoder.encode(text));
      } catch (err) {
        // Headers are gone already: cutting the stream is the only honest signal left.
        controller.error(err);
      }
    },
    async cancel() {
      await iterator.return?.(undefined);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="${filename.replace(/[^\w.-]/g, "_")}.${format}"`,
      "cache-control": "no-store",
    },
  });
}
