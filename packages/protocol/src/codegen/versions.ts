/** Version ranges as they appear in the schemas ("3+", "0-2", "1", "none") and sets of versions. */

export interface VersionRange {
  lo: number;
  /** Infinity for open-ended ranges ("3+"). */
  hi: number;
}

export function parseVersions(spec: string | undefined): VersionRange | null {
  if (spec === undefined) return null;
  const s = spec.trim();
  if (s === 'none' || s === '') return null;
  if (s.endsWith('+')) return { lo: Number(s.slice(0, -1)), hi: Infinity };
  const dash = s.indexOf('-');
  if (dash < 0) {
    const v = Number(s);
    return { lo: v, hi: v };
  }
  return { lo: Number(s.slice(0, dash)), hi: Number(s.slice(dash + 1)) };
}

export function inRange(range: VersionRange | null, v: number): boolean {
  return range !== null && v >= range.lo && v <= range.hi;
}

export function rangeList(range: VersionRange | null): number[] {
  if (range === null) return [];
  if (!Number.isFinite(range.hi)) throw new Error('rangeList of an open-ended range');
  const out: number[] = [];
  for (let v = range.lo; v <= range.hi; v++) out.push(v);
  return out;
}

/** Contiguous runs of a sorted list of versions. */
export function runs(versions: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of versions) {
    const last = out[out.length - 1];
    if (last && last[1] === v - 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

/** Human-readable form of a version set, e.g. "0-2, 5+" relative to the message's highest version. */
export function describeVersions(versions: readonly number[], max: number): string {
  if (versions.length === 0) return 'none';
  return runs(versions)
    .map(([a, b]) => (b === max && a !== b ? `${a}+` : a === b ? `${a}` : `${a}-${b}`))
    .join(', ');
}

/**
 * A TypeScript condition on the version variable `v` that is true exactly for `set`, given that
 * `v` is known to be within [min, max]. Returns 'true' or 'false' for constant conditions.
 */
export function versionCondition(set: readonly number[], min: number, max: number, name = 'v'): string {
  const inside = set.filter((v) => v >= min && v <= max);
  if (inside.length === 0) return 'false';
  if (inside.length === max - min + 1) return 'true';
  const parts = runs(inside).map(([a, b]) => {
    if (a === min) return `${name} <= ${b}`;
    if (b === max) return `${name} >= ${a}`;
    if (a === b) return `${name} === ${a}`;
    return `(${name} >= ${a} && ${name} <= ${b})`;
  });
  return parts.length === 1 ? parts[0]! : `(${parts.join(' || ')})`;
}

/**
 * A condition on `v` that is true for the versions of `universe` in `set` and false for the other
 * versions of `universe`; versions outside the universe cannot occur and may go either way (they
 * are given the value of the nearest lower version of the universe, which keeps conditions short).
 */
export function conditionWithin(set: readonly number[], universe: readonly number[], name = 'v'): string {
  if (universe.length === 0) return 'false';
  const lo = universe[0]!;
  const hi = universe[universe.length - 1]!;
  if (universe.every((v) => set.includes(v))) return 'true';
  if (!universe.some((v) => set.includes(v))) return 'false';
  const filled: number[] = [];
  let value = false;
  for (let v = lo; v <= hi; v++) {
    if (universe.includes(v)) value = set.includes(v);
    if (value) filled.push(v);
  }
  return versionCondition(filled, lo, hi, name);
}
