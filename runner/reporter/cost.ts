import PRICES from "./prices.json" with { type: "json" };

/** The tokens of one assistant message, by class. */
export interface Usage {
  input: number;
  output: number;
  cacheCreation: number;
  cacheRead: number;
}

interface Rates {
  input: number;
  output: number;
  cache_creation: number;
  cache_read: number;
}

interface ModelPrice extends Rates {
  long_context?: Rates & { threshold: number };
}

const MODELS: Record<string, ModelPrice> = PRICES.models;

/** The price of a model by its exact name, then without its date suffix; undefined for a model the table lacks. */
export function priceOf(model: string): ModelPrice | undefined {
  return MODELS[model] ?? MODELS[model.replace(/-\d{8}$/, "")];
}

/**
 * The cost of one message in USD, or undefined when the table does not know
 * the model. A request whose whole input is above the long-context
 * threshold is billed at the long-context rates for all of its tokens, as
 * Anthropic bills it (ccusage instead applies the higher rate per class, to
 * the part of that class above the threshold: the two differ only there).
 */
export function costOf(model: string | undefined, u: Usage): number | undefined {
  const price = model === undefined ? undefined : priceOf(model);
  if (!price) return undefined;
  const input = u.input + u.cacheCreation + u.cacheRead;
  const r: Rates = price.long_context && input > price.long_context.threshold ? price.long_context : price;
  return (u.input * r.input + u.output * r.output + u.cacheCreation * r.cache_creation + u.cacheRead * r.cache_read) / 1_000_000;
}
