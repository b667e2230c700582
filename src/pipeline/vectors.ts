/** The item vector: the token-weighted mean of its chunk vectors, L2-normalised (cosine-ready). */
export function poolChunkVectors(vectors: Float32Array[], tokenCounts: number[]): Float32Array {
  const first = vectors[0];
  if (!first) throw new Error('an item needs at least one chunk vector');
  // Most items are one chunk and models return unit vectors: share the array instead of copying it
  // (at 3072-d, a copy per item doubles the memory held by a run).
  if (vectors.length === 1 && Math.abs(squaredNorm(first) - 1) < 1e-5) return first;
  const out = new Float32Array(first.length);
  vectors.forEach((v, i) => {
    const w = tokenCounts[i] ?? 0;
    for (let d = 0; d < out.length; d++) out[d]! += w * v[d]!;
  });
  return normalize(out);
}

function squaredNorm(v: Float32Array): number {
  let sum = 0;
  for (const x of v) sum += x * x;
  return sum;
}

function normalize(v: Float32Array): Float32Array {
  const norm = Math.sqrt(squaredNorm(v));
  if (norm === 0 || !Number.isFinite(norm)) throw new Error('cannot normalise a zero or non-finite vector');
  for (let d = 0; d < v.length; d++) v[d]! /= norm;
  return v;
}
