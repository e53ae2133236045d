import { windowLengthMs, type FamilyState, type WindowState } from "./state.ts";

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

/**
 * The state's windows as of `now`: one that has reset since the state was
 * loaded starts its next period empty (as the loader would say, see
 * current() in load.ts); one that has been gone for a whole period is unknown.
 */
export function windowsAt(state: FamilyState, now: number): WindowState[] {
  const windows: WindowState[] = [];
  for (const w of state.windows) {
    if (w.resetsAt > now) windows.push(w);
    else if (w.resetsAt + windowLengthMs(w.window) > now)
      windows.push({ ...w, percent: 0, observedAt: w.resetsAt, resetsAt: w.resetsAt + windowLengthMs(w.window), tokensSince: 0, source: `${w.source}, reset since` });
  }
  return windows;
}

/** Every known window, with its % now. */
export function windowsNow(state: FamilyState, now: number): WindowNow[] {
  return windowsAt(state, now)
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
