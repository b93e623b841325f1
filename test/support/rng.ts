/**
 * rng: a small deterministic PRNG (xorshift32) for randomized unit tests, so a failing
 * sequence can be replayed from its seed: r(n) is in [0, n).
 */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}
