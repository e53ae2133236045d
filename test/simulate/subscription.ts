/**
 * Claude's windows as the family meets them: a 5-hour session window that
 * opens with the first prompt after the last one closed, and a weekly
 * window that resets at a fixed instant. A full window stops everyone.
 */
export interface WindowTrace {
  /** Used % at each hour of the run. */
  five_hour: number[];
  seven_day: number[];
}

const FIVE_HOURS = 5 * 3_600_000;
const WEEK = 7 * 86_400_000;

export class Subscription {
  fiveUsed = 0;
  fiveResets = 0;
  weekUsed = 0;
  weekResets: number;
  /** Times a window reached 100%. */
  overruns = 0;
  /** Windows reset so far (either window): advice before and after a reset answers different inputs. */
  resets = 0;
  /** Used % of each weekly window at its reset. */
  weeklyAtReset: number[] = [];
  private weekFull = false;
  private fiveFull = false;

  constructor(
    readonly weeklyCapacity: number,
    readonly fiveHourCapacity: number,
    /** The first weekly reset. */
    firstWeeklyReset: number,
    /** The first weekly period started before the run: its figure is not counted. */
    private countFirst = false,
  ) {
    this.weekResets = firstWeeklyReset;
  }

  /** Moves the windows on to `now` (resets). */
  tick(now: number): void {
    while (now >= this.weekResets) {
      if (this.countFirst) this.weeklyAtReset.push(this.weekPercent());
      this.countFirst = true;
      this.weekUsed = 0;
      this.weekFull = false;
      this.weekResets += WEEK;
      this.resets++;
    }
    if (this.fiveResets !== 0 && now >= this.fiveResets) {
      this.fiveUsed = 0;
      this.fiveResets = 0;
      this.fiveFull = false;
      this.resets++;
    }
  }

  blocked(now: number): boolean {
    this.tick(now);
    return this.fivePercent() >= 100 || this.weekPercent() >= 100;
  }

  /** Uses tokens (a window that fills counts one overrun; the rest of the prompt is cut off). */
  use(now: number, tokens: number): void {
    this.tick(now);
    if (this.fiveResets === 0) this.fiveResets = now + FIVE_HOURS;
    this.fiveUsed = Math.min(this.fiveHourCapacity, this.fiveUsed + tokens);
    this.weekUsed = Math.min(this.weeklyCapacity, this.weekUsed + tokens);
    if (!this.fiveFull && this.fivePercent() >= 100) (this.fiveFull = true), this.overruns++;
    if (!this.weekFull && this.weekPercent() >= 100) (this.weekFull = true), this.overruns++;
  }

  fivePercent = () => (this.fiveUsed / this.fiveHourCapacity) * 100;
  weekPercent = () => (this.weekUsed / this.weeklyCapacity) * 100;

  /** Claude Code's statusLine `rate_limits` (whole percentages, resets in epoch seconds). */
  rateLimits(now: number) {
    this.tick(now);
    const five = this.fiveResets === 0 ? null : { used_percentage: Math.floor(this.fivePercent()), resets_at: Math.floor(this.fiveResets / 1000) };
    return { ...(five ? { five_hour: five } : {}), seven_day: { used_percentage: Math.floor(this.weekPercent()), resets_at: Math.floor(this.weekResets / 1000) } };
  }
}
