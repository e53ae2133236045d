import { describe, expect, it, vi } from "vitest";
import { addDays, canonicalTimeZone, dayBounds, dayStarts, daysBetween, isTimeZone, localDay, localMinute, startOfDay } from "../../shared/time.ts";

const HOUR = 3_600_000;
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s);

describe("local days around the 2026 daylight-saving changes", () => {
  // [zone, day, first instant (UTC), first instant of the next day (UTC), hours]
  const cases: [string, string, number, number, number][] = [
    // London: BST starts Sun 29 March at 01:00 UTC, ends Sun 25 October at 01:00 UTC.
    ["Europe/London", "2026-03-28", utc(2026, 3, 28), utc(2026, 3, 29), 24],
    ["Europe/London", "2026-03-29", utc(2026, 3, 29), utc(2026, 3, 29, 23), 23],
    ["Europe/London", "2026-03-30", utc(2026, 3, 29, 23), utc(2026, 3, 30, 23), 24],
    ["Europe/London", "2026-10-25", utc(2026, 10, 24, 23), utc(2026, 10, 26), 25],
    ["Europe/London", "2026-10-26", utc(2026, 10, 26), utc(2026, 10, 27), 24],
    // New York: EDT starts Sun 8 March at 07:00 UTC, ends Sun 1 November at 06:00 UTC.
    ["America/New_York", "2026-03-07", utc(2026, 3, 7, 5), utc(2026, 3, 8, 5), 24],
    ["America/New_York", "2026-03-08", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4), 23],
    ["America/New_York", "2026-11-01", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25],
    ["America/New_York", "2026-11-02", utc(2026, 11, 2, 5), utc(2026, 11, 3, 5), 24],
  ];

  it.each(cases)("%s %s runs from its local midnight to the next (%#)", (zone, day, start, end, hours) => {
    expect(dayBounds(day, zone)).toEqual({ start, end });
    expect((end - start) / HOUR).toBe(hours);
    expect(localDay(start, zone)).toBe(day);
    expect(localDay(start - 1, zone)).toBe(addDays(day, -1));
    expect(localDay(end - 1, zone)).toBe(day);
    expect(localDay(end, zone)).toBe(addDays(day, 1));
  });

  it("puts both passes through London's repeated hour on 25 October in the same day", () => {
    // 01:30 BST and 01:30 GMT are an hour apart and both on the 25th.
    expect(localDay(utc(2026, 10, 25, 0, 30), "Europe/London")).toBe("2026-10-25");
    expect(localDay(utc(2026, 10, 25, 1, 30), "Europe/London")).toBe("2026-10-25");
  });

  it("puts the instant clocks skip forward in the right day", () => {
    expect(localDay(utc(2026, 3, 29, 0, 59, 59), "Europe/London")).toBe("2026-03-29");
    expect(localDay(utc(2026, 3, 29, 1), "Europe/London")).toBe("2026-03-29");
    expect(localDay(utc(2026, 3, 8, 6, 59, 59), "America/New_York")).toBe("2026-03-08");
    expect(localDay(utc(2026, 3, 8, 4, 59, 59), "America/New_York")).toBe("2026-03-07");
  });

  // Santiago (Chile) moves its clocks at midnight itself, so some days begin at 01:00.
  it.each(["Europe/London", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "UTC"])(
    "%s: every day of 2026 starts where the one before ends, with or without the fast path",
    (zone) => {
      const days = daysBetween("2026-01-01", "2027-01-01");
      const starts = dayStarts(days, zone);
      const lengths = new Set<number>();
      days.forEach((day, i) => {
        const start = starts[i]!;
        expect(start).toBe(startOfDay(day, zone));
        expect(localDay(start, zone)).toBe(day);
        expect(localDay(start - 1, zone)).toBe(addDays(day, -1));
        if (i > 0) {
          expect(dayBounds(days[i - 1]!, zone)).toEqual({ start: starts[i - 1], end: start });
          lengths.add((start - starts[i - 1]!) / HOUR);
        }
      });
      // Every day lasts 23 to 25 hours (Lord Howe shifts by half an hour).
      for (const h of lengths) expect(h === 24 || (h >= 23 && h <= 25)).toBe(true);
      if (zone === "UTC") expect([...lengths]).toEqual([24]);
      if (zone === "Europe/London" || zone === "America/New_York") expect([...lengths].sort()).toEqual([23, 24, 25]);
    },
  );
});

describe("calendar arithmetic", () => {
  it("adds days across months, years and leap days", () => {
    expect(addDays("2026-01-31", 1)).toBe("2026-02-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addDays("2028-03-01", -1)).toBe("2028-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-10-25", 0)).toBe("2026-10-25");
  });

  it("lists the days between two dates, both included", () => {
    expect(daysBetween("2026-12-30", "2027-01-02")).toEqual(["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]);
    expect(daysBetween("2026-05-05", "2026-05-05")).toEqual(["2026-05-05"]);
    expect(daysBetween("2026-05-06", "2026-05-05")).toEqual([]);
  });

  it("knows IANA zones from names that are not", () => {
    expect(isTimeZone("Europe/London")).toBe(true);
    expect(isTimeZone("America/New_York")).toBe(true);
    expect(isTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isTimeZone("")).toBe(false);
  });

  it("knows aliases too, which the list of canonical zones leaves out", () => {
    for (const alias of ["UTC", "Etc/UTC", "GMT", "US/Pacific", "Asia/Kolkata", "europe/london"]) expect(isTimeZone(alias)).toBe(true);
    expect(isTimeZone("US/Nowhere")).toBe(false);
  });

  it("answers listed zones and UTC without building a formatter, which would map some 6 MB of ICU's data", () => {
    // Built through to the real formatter: a bare spy's instances lack resolvedOptions.
    const Real = Intl.DateTimeFormat;
    const formatter = vi.spyOn(Intl, "DateTimeFormat").mockImplementation(function (...args: ConstructorParameters<typeof Real>) {
      return new Real(...args);
    } as never);
    try {
      for (const zone of ["Europe/London", "America/New_York", "UTC", "Etc/UTC"]) expect(isTimeZone(zone)).toBe(true);
      expect(["Europe/London", "UTC", "Etc/UTC", "GMT"].map(canonicalTimeZone)).toEqual(["Europe/London", "UTC", "UTC", "UTC"]);
      expect(formatter).not.toHaveBeenCalled();
      expect(isTimeZone("US/Pacific")).toBe(true);
      expect(formatter).toHaveBeenCalled();
    } finally {
      formatter.mockRestore();
    }
  });
});

describe("localMinute", () => {
  it("writes an instant's local date and time to the minute, across a daylight-saving change", () => {
    // Europe/Berlin goes from +01:00 to +02:00 at 01:00 UTC on 2026-03-29.
    expect(localMinute(Date.parse("2026-03-29T00:59:30Z"), "Europe/Berlin")).toBe("2026-03-29 01:59");
    expect(localMinute(Date.parse("2026-03-29T01:00:00Z"), "Europe/Berlin")).toBe("2026-03-29 03:00");
    expect(localMinute(Date.parse("2026-11-28T23:30:00Z"), "Asia/Kolkata")).toBe("2026-11-29 05:00");
    expect(localMinute(Date.parse("2026-11-28T14:03:59Z"), "UTC")).toBe("2026-11-28 14:03");
  });
});
