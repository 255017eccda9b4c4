/**
 * Random valid messages built from the generated schema descriptors, for round-trip and fuzz
 * tests. Deterministic for a seed (xorshift128+), so any failure can be replayed.
 * Test support only: not exported from the package.
 */
import { inRuns, type FieldDescriptor, type MessageDescriptor } from '../message-descriptor.js';

export class Rng {
  // sfc32: small, fast, good enough for tests, and replayable from the seed.
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.next32();
  }

  /** Uniform uint32. */
  next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next64(): bigint {
    return (BigInt(this.next32()) << 32n) | BigInt(this.next32());
  }

  /** Uniform in [0, 1). */
  next(): number {
    return (this.next32() * 2 ** 21 + (this.next32() >>> 11)) / 2 ** 53;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
}

const CHARS = ['a', 'b', 'Z', '0', '-', '_', '.', ' ', 'é', 'ß', '日', '本', '😀', '\u0000', '/'];

export interface RandomOptions {
  /** Add unknown tagged fields to structs in flexible versions. */
  unknownTags: boolean;
  /** Sometimes give records as a list of chunks. */
  recordChunks: boolean;
  /** Largest array length. */
  arrayMax: number;
}

const DEFAULT_OPTIONS: RandomOptions = { unknownTags: true, recordChunks: true, arrayMax: 3 };

type Value = unknown;

function randomPrim(rng: Rng, f: FieldDescriptor, opts: RandomOptions): Value {
  switch (f.type) {
    case 'bool':
      return rng.chance(0.5);
    case 'int8':
      return rng.int(-128, 127);
    case 'int16':
      return rng.int(-32768, 32767);
    case 'uint16':
      return rng.int(0, 65535);
    case 'int32':
      return rng.chance(0.2) ? rng.pick([-1, 0, 2147483647, -2147483648]) : rng.int(-2147483648, 2147483647);
    case 'uint32':
      return rng.int(0, 4294967295);
    case 'int64':
      return rng.chance(0.2) ? rng.pick([-1n, 0n, 9223372036854775807n, -9223372036854775808n]) : BigInt.asIntN(64, rng.next64());
    case 'float64':
      return rng.chance(0.2) ? rng.pick([0, 1.5, -2.25, Number.MAX_VALUE, Number.MIN_VALUE]) : (rng.next() - 0.5) * 1e6;
    case 'uuid':
      return rng.bytes(16).toString('base64url');
    case 'string': {
      const n = rng.int(0, 12);
      let s = '';
      for (let i = 0; i < n; i++) s += rng.pick(CHARS);
      return s;
    }
    case 'bytes':
      return rng.bytes(rng.int(0, 24));
    case 'records': {
      const b = rng.bytes(rng.int(0, 40));
      if (opts.recordChunks && rng.chance(0.3) && b.length > 2) {
        const cut = rng.int(1, b.length - 1);
        return [b.subarray(0, cut), b.subarray(cut)];
      }
      return b;
    }
    case 'struct':
      throw new Error('not a primitive');
  }
}

export function randomStruct(rng: Rng, d: MessageDescriptor, struct: string, v: number, opts: RandomOptions = DEFAULT_OPTIONS): Record<string, Value> {
  const fields = d.structs[struct]!;
  const out: Record<string, Value> = {};
  for (const f of fields) {
    if (!inRuns(f.present, v)) continue;
    if (rng.chance(0.05)) continue; // left undefined: encodes the default
    out[f.name] = randomValue(rng, d, f, v, opts);
  }
  if (opts.unknownTags && inRuns(d.flexible, v) && rng.chance(0.3)) {
    const known = fields.filter((f) => f.tag !== undefined).map((f) => f.tag!);
    const base = Math.max(-1, ...known) + 1 + rng.int(0, 200);
    const n = rng.int(1, 3);
    const tags: { tag: number; data: Buffer }[] = [];
    for (let i = 0; i < n; i++) tags.push({ tag: base + i * rng.int(1, 100000), data: rng.bytes(rng.int(0, 6)) });
    out.unknownTaggedFields = tags.reverse(); // out of order on purpose: the encoder sorts them
  }
  return out;
}

function randomValue(rng: Rng, d: MessageDescriptor, f: FieldDescriptor, v: number, opts: RandomOptions): Value {
  if (inRuns(f.nullable, v) && rng.chance(0.2)) return null;
  const one = (): Value => (f.type === 'struct' ? randomStruct(rng, d, f.struct!, v, opts) : randomPrim(rng, f, opts));
  if (f.array) {
    const n = rng.int(0, opts.arrayMax);
    const a: Value[] = [];
    for (let i = 0; i < n; i++) a.push(one());
    return a;
  }
  return one();
}

export function randomMessage(rng: Rng, d: MessageDescriptor, v: number, opts: RandomOptions = DEFAULT_OPTIONS): Record<string, Value> {
  return randomStruct(rng, d, d.root, v, opts);
}

/** The default value of a field, as the decoder produces it. */
export function fieldDefault(d: MessageDescriptor, f: FieldDescriptor): Value {
  if (f.defaultNull) return null;
  if (f.array) return [];
  if (f.type === 'struct') return defaultStruct(d, f.struct!);
  if (f.type === 'bytes' || f.type === 'records') return Buffer.alloc(0);
  return f.default;
}

function defaultStruct(d: MessageDescriptor, struct: string): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const f of d.structs[struct]!) out[f.name] = fieldDefault(d, f);
  return out;
}

/**
 * What decoding the encoding of `input` at version v must give: fields absent in v (or left
 * undefined) take their default, record chunk lists become one buffer, unknown tagged fields are
 * sorted by tag.
 */
export function expectedDecode(d: MessageDescriptor, struct: string, input: Record<string, Value>, v: number): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const f of d.structs[struct]!) {
    const x = input[f.name];
    if (!inRuns(f.present, v) || x === undefined) {
      out[f.name] = fieldDefault(d, f);
      continue;
    }
    out[f.name] = expectedValue(d, f, x, v);
  }
  const unknown = input.unknownTaggedFields as { tag: number; data: Buffer }[] | undefined;
  if (unknown && unknown.length > 0) out.unknownTaggedFields = [...unknown].sort((a, b) => a.tag - b.tag);
  return out;
}

function expectedValue(d: MessageDescriptor, f: FieldDescriptor, x: Value, v: number): Value {
  if (x === null) return null;
  const one = (e: Value): Value => {
    if (f.type === 'struct') return expectedDecode(d, f.struct!, e as Record<string, Value>, v);
    if (f.type === 'records' && Array.isArray(e)) return Buffer.concat(e as Buffer[]);
    return e;
  };
  return f.array ? (x as Value[]).map(one) : one(x);
}
