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

/**
 * The float16 nearest to `x`, ties to even, as pgvector rounds a float4 into a halfvec (Node 22 has
 * no Math.f16round). Beyond float16's range it is ±Infinity, which pgvector refuses.
 */
export function f16round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Number.POSITIVE_INFINITY;
  // Subnormals share the smallest normal exponent, -14; a float16 keeps 10 bits after the leading one.
  let e = Math.max(Math.floor(Math.log2(a)), -14);
  if (e > -14 && 2 ** e > a) e -= 1;
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  const floor = Math.floor(q);
  const r = q - floor > 0.5 || (q - floor === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  return Math.sign(x) * r * ulp;
}
