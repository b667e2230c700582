/** Small figures helpers shared by the benchmarks. */

/** `x` rounded to `digits` decimals, for printed figures. */
export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The p-th percentile (nearest rank) of an ascending array. */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
