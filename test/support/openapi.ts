import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

/**
 * Checks requests and replies against an OpenAPI 3.1 document with a real
 * JSON Schema 2020-12 validator (ajv): the document is added whole, so each
 * schema is reached by its JSON pointer and its $refs resolve inside it.
 */
export interface OpenApiChecker {
  /** The operation's path template for a request, e.g. /resource/today/{claude_name}; undefined when none matches. */
  operation(method: string, path: string): { template: string; operation: Operation } | undefined;
  /** What is wrong with `body` as the request body of the operation ("" when nothing is). */
  requestProblems(method: string, path: string, body: unknown): string;
  /** What is wrong with a JSON reply of `status` ("" when nothing is). */
  replyProblems(method: string, path: string, status: number, body: unknown): string;
  /** What is wrong with a value as the schema at a JSON pointer into the document ("" when nothing is). */
  problemsAt(pointer: string, value: unknown): string;
}

interface Operation {
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

const ID = "urn:resource-share:openapi";
const escape = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");
const describe = (errors: ErrorObject[] | null | undefined) => (errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message ?? ""}`.trim()).join("; ");

export function openApiChecker(given: unknown): OpenApiChecker {
  const document = given as { paths: Record<string, Record<string, Operation>> };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...document, $id: ID });

  const problemsAt = (pointer: string, value: unknown): string => {
    const validate = ajv.getSchema(`${ID}#${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer} in the document`);
    return validate(value) ? "" : describe(validate.errors);
  };

  const operation = (method: string, path: string) => {
    for (const [template, item] of Object.entries(document.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      const found = item[method.toLowerCase()];
      if (pattern.test(path) && found) return { template, operation: found };
    }
    return undefined;
  };

  const located = (method: string, path: string) => {
    const found = operation(method, path);
    if (!found) throw new Error(`the document describes no ${method} ${path}`);
    return { ...found, base: `/paths/${escape(found.template)}/${method.toLowerCase()}` };
  };

  return {
    operation,
    problemsAt,
    requestProblems(method, path, body) {
      const { operation: op, base } = located(method, path);
      if (!op.requestBody?.content["application/json"]) return `${method} ${path} has no JSON request body in the document`;
      return problemsAt(`${base}/requestBody/content/application~1json/schema`, body);
    },
    replyProblems(method, path, status, body) {
      const { operation: op, base } = located(method, path);
      const code = op.responses[String(status)] ? String(status) : "default";
      if (!op.responses[code]?.content?.["application/json"]) return `${method} ${path}: the document has no JSON reply for ${status}`;
      return problemsAt(`${base}/responses/${code}/content/application~1json/schema`, body);
    },
  };
}
