/** Deterministic numbers for test data: every run builds the same vectors and weights. */

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

export function unit(values: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  const norm = Math.sqrt(sum);
  return Float32Array.from(values, (x) => x / norm);
}

/** A unit vector with uniformly random coordinates before normalising. */
export function randomVector(seed: number, dims = 512): Float32Array {
  const r = mulberry32(seed);
  return unit(Array.from({ length: dims }, () => r() * 2 - 1));
}

/** `base` pushed towards a random direction by `t` (both unit length): cosine ≈ 1/√(1+t²). */
export function nearVector(base: Float32Array, seed: number, t: number): Float32Array {
  const noise = randomVector(seed, base.length);
  return unit(Array.from(base, (x, i) => x + t * noise[i]!));
}
