/**
 * Fairness arithmetic shared by the advice (policy.ts, load.ts), the
 * history reports (functions/history/) and the simulation's figures: one
 * definition of a usable weight, of a fair share and of Jain's index.
 */

/** A stored weight as the policy uses it: a positive finite number, else 1. */
export function usableWeight(stored: unknown): number {
  const w = Number(stored);
  return Number.isFinite(w) && w > 0 ? w : 1;
}

/** Each agent's fair share of the family's work: its weight over the weights of those sharing. */
export function fairShares(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (total > 0 ? w / total : 0));
}

/** Jain's index: (Σx)² / (n·Σx²), 1 when all are equal, 1/n when one has everything. */
export function jain(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}
