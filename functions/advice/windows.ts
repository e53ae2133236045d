import type { FamilyState, WindowState } from "./state.ts";

/** A window as it stands now: the last reading, plus the family's usage since it where that can be converted. */
export interface WindowNow {
  window: string;
  used_percentage: number;
  /** True when the figure is not a reading as such: usage since the reading was added, or it comes from a budget. */
  estimated: boolean;
  resets_at: string;
  source: string;
  observed_at: string;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;

/** The window's used % now: the reading plus the family's tokens since, converted with its calibration. */
export function currentPercent(w: WindowState): { percent: number; estimated: boolean } {
  const added = w.tokensPerPercent && w.tokensSince > 0 ? w.tokensSince / w.tokensPerPercent : 0;
  return { percent: Math.min(100, w.percent + added), estimated: w.fromBudget || added > 0 };
}

/** Every known window that has not reset yet, with its % now. */
export function windowsNow(state: FamilyState, now: number): WindowNow[] {
  return state.windows
    .filter((w) => w.resetsAt > now)
    .map((w) => {
      const { percent, estimated } = currentPercent(w);
      return {
        window: w.window,
        used_percentage: round1(percent),
        estimated,
        resets_at: new Date(w.resetsAt).toISOString(),
        source: w.source,
        observed_at: new Date(w.observedAt).toISOString(),
      };
    });
}
