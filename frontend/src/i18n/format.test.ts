import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatMs, formatParams, formatPercent, formatSpeed, formatTps } from "./format";

describe("format", () => {
  it("formats sizes and speeds per locale", () => {
    expect(formatBytes("en", 1_187_801_280)).toBe("1.19 GB");
    expect(formatBytes("es", 1_187_801_280)).toBe("1,19 GB");
    expect(formatBytes("en", 400_000_000)).toBe("400 MB");
    expect(formatBytes("en", 2_500_000)).toBe("2.5 MB");
    expect(formatBytes("en", 999)).toBe("999 B");
    expect(formatSpeed("en", 12_500_000)).toBe("12.5 MB/s");
    expect(formatSpeed("es", 12_500_000)).toBe("12,5 MB/s");
    expect(formatSpeed("en", 300_000)).toBe("300 kB/s");
  });

  it("formats ETA and times", () => {
    expect(formatDuration("en", 45)).toBe("45 sec");
    expect(formatDuration("en", 200)).toBe("3 min 20 sec");
    expect(formatDuration("es", 200)).toBe("3 min 20 s");
    expect(formatDuration("en", 3900)).toBe("1 hr 5 min");
    expect(formatMs("en", 350)).toBe("350 ms");
    expect(formatMs("es", 1250)).toBe("1,3 s");
    expect(formatPercent("es", 0.5)).toMatch(/^50\s?%$/);
    expect(formatTps("en", 27.43)).toBe("27.4");
    expect(formatTps("es", 27.43)).toBe("27,4");
  });

  it("formats a model's parameters", () => {
    expect(formatParams("en", 2_410_000_000)).toBe("2.4 B");
    expect(formatParams("es", 2_410_000_000)).toBe("2,4 B");
    expect(formatParams("en", 8_030_000_000)).toBe("8 B");
    expect(formatParams("en", 729_000_000)).toBe("729 M");
  });
});
