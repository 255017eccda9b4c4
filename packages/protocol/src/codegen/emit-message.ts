/**
 * Emits the TypeScript of one message: interfaces, straight-line decode/encode functions per struct,
 * and the codec object. No closures or reflection on the per-field path: version checks are plain
 * comparisons on `v`, simplified with the versions each struct can actually occur in.
 */
import type { PrimitiveType } from '../message-descriptor.js';
import { CodeWriter, docComment } from './code-writer.js';
import { primBytesMin, structBytesMin, type FieldModel, type MessageModel, type StructModel } from './model.js';
import { conditionWithin, describeVersions } from './versions.js';

const ZERO_UUID_LITERAL = "'AAAAAAAAAAAAAAAAAAAAAA'";

/** 'yes' / 'no' when the same in every version considered, else 'rt' (decided at run time). */
type Mode = 'yes' | 'no' | 'rt';

function modeOf(subset: readonly number[], of: readonly number[]): Mode {
  const inside = of.filter((v) => subset.includes(v));
  if (inside.length === 0) return 'no';
  if (inside.length === of.length) return 'yes';
  return 'rt';
}

function minus(a: readonly number[], b: readonly number[]): number[] {
  return a.filter((v) => !b.includes(v));
}

function within(a: readonly number[], universe: readonly number[]): number[] {
  return a.filter((v) => universe.includes(v));
}

/** A condition without its outer parentheses, for use as a whole `if` condition. */
function bare(cond: string): string {
  if (!cond.startsWith('(') || !cond.endsWith(')')) return cond;
  let depth = 0;
  for (let i = 0; i < cond.length; i++) {
    if (cond[i] === '(') depth++;
    else if (cond[i] === ')') depth--;
    if (depth === 0 && i < cond.length - 1) return cond; // the first group closes early: (a) || (b)
  }
  return cond.slice(1, -1);
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

const FIXED_SIZE: Partial<Record<PrimitiveType, number>> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};

const READ_PRIM: Partial<Record<PrimitiveType, string>> = {
  bool: 'readBool',
  int8: 'readInt8',
  int16: 'readInt16',
  uint16: 'readUInt16',
  int32: 'readInt32',
  uint32: 'readUInt32',
  int64: 'readInt64',
  float64: 'readFloat64',
  uuid: 'readUuid',
};

const WRITE_PRIM: Partial<Record<PrimitiveType, string>> = {
  bool: 'writeBool',
  int8: 'writeInt8',
  int16: 'writeInt16',
  uint16: 'writeUInt16',
  int32: 'writeInt32',
  uint32: 'writeUInt32',
  int64: 'writeInt64',
  float64: 'writeFloat64',
  uuid: 'writeUuid',
};

const ARRAY_HELPER: Record<PrimitiveType, string> = {
  bool: 'Bools',
  int8: 'Int8s',
  int16: 'Int16s',
  uint16: 'UInt16s',
  int32: 'Int32s',
  uint32: 'UInt32s',
  int64: 'Int64s',
  float64: 'Float64s',
  uuid: 'Uuids',
  string: 'Strings',
  bytes: 'BytesArray',
  records: 'BytesArray',
};

function primTs(p: PrimitiveType): string {
  switch (p) {
    case 'bool':
      return 'boolean';
    case 'int64':
      return 'bigint';
    case 'uuid':
    case 'string':
      return 'string';
    case 'bytes':
      return 'Buffer';
    case 'records':
      return 'Records';
    default:
      return 'number';
  }
}

/** The default is null (schema default "null" or JSON null; records without a default when nullable). */
export function defaultIsNull(f: FieldModel): boolean {
  const d = f.defaultRaw;
  // Kafka's records default is null; where some versions cannot hold null, use empty instead.
  if (f.kind === 'prim' && f.prim === 'records' && d === undefined) return f.present.every((v) => f.nullable.includes(v));
  if (d === null) return true;
  if (d !== 'null') return false;
  return !(f.kind === 'prim' && f.prim === 'string' && f.nullable.length === 0);
}

/** The TypeScript type admits null. */
function canBeNull(f: FieldModel): boolean {
  return f.nullable.length > 0 || defaultIsNull(f) || (f.kind === 'prim' && f.prim === 'records');
}

export function fieldTsType(f: FieldModel): string {
  if (f.kind === 'prim' && READ_PRIM[f.prim!] && canBeNull(f)) {
    throw new Error(`${f.name}: nullable ${f.prim} fields are not supported`);
  }
  let base: string;
  if (f.kind === 'prim') base = primTs(f.prim!);
  else if (f.kind === 'struct') base = f.struct!.tsName;
  else base = `${f.prim ? primTs(f.prim) : f.struct!.tsName}[]`;
  if (f.kind === 'prim' && f.prim === 'records') return base;
  return canBeNull(f) ? `${base} | null` : base;
}

/** The default of a primitive field as a TypeScript literal. */
export function primDefaultLiteral(f: FieldModel): string {
  const d = f.defaultRaw;
  if (defaultIsNull(f)) return 'null';
  switch (f.prim!) {
    case 'bool':
      return d === true || d === 'true' ? 'true' : 'false';
    case 'int64':
      return d === undefined || d === '' ? '0n' : `${BigInt(String(d))}n`;
    case 'string':
      return quote(d === undefined ? '' : String(d));
    case 'uuid':
      if (d !== undefined && d !== '') throw new Error(`${f.name}: uuid defaults are not supported`);
      return ZERO_UUID_LITERAL;
    case 'bytes':
    case 'records':
      return 'rt.EMPTY_BUFFER';
    default: {
      if (d === undefined || d === '') return '0';
      const n = Number(d);
      if (!Number.isFinite(n)) throw new Error(`${f.name}: bad default ${String(d)}`);
      return String(n);
    }
  }
}

/** Fresh default value for decoding (new arrays and structs). */
function decodeDefault(f: FieldModel): string {
  if (f.kind === 'prim') return primDefaultLiteral(f);
  if (defaultIsNull(f)) return 'null';
  if (f.kind === 'array') return '[]';
  return `default${f.struct!.tsName}()`;
}

/** Default substituted for `undefined` when encoding (shared, never mutated). */
function encodeDefault(f: FieldModel): string {
  if (f.kind === 'prim') return primDefaultLiteral(f);
  if (defaultIsNull(f)) return 'null';
  if (f.kind === 'array') return 'rt.EMPTY_ARRAY';
  return 'rt.EMPTY_INPUT';
}

/** Condition (on a value expression that is not undefined) that the value differs from the field's default. */
function nonDefault(f: FieldModel, x: string): string {
  if (defaultIsNull(f)) return `${x} !== null`;
  const orNull = (cond: string): string => (canBeNull(f) ? `(${x} === null || ${cond})` : cond);
  if (f.kind === 'array') return orNull(`${x}.length > 0`);
  if (f.kind === 'struct') return orNull(`!isDefault${f.struct!.tsName}(${x})`);
  switch (f.prim!) {
    case 'bytes':
      return orNull(`${x}.length > 0`);
    case 'records':
      return `(${x} === null || !rt.recordsIsEmpty(${x}))`;
    default:
      return `${x} !== ${primDefaultLiteral(f)}`;
  }
}

/** Structs that need `defaultX()` (decoding an absent struct field) and `isDefaultX()` (encode checks). */
function collectNeeds(m: MessageModel): { defaultFn: Set<StructModel>; isDefaultFn: Set<StructModel> } {
  const defaultFn = new Set<StructModel>();
  const isDefaultFn = new Set<StructModel>();
  const add = (set: Set<StructModel>, s: StructModel): void => {
    if (set.has(s)) return;
    set.add(s);
    for (const f of s.fields) if (f.kind === 'struct' && !defaultIsNull(f)) add(set, f.struct!);
  };
  for (const s of m.structs) {
    for (const f of s.fields) {
      if (f.kind !== 'struct' || defaultIsNull(f)) continue;
      const regular = within(minus(f.present, f.tagged), s.versions);
      if (regular.length < s.versions.length) {
        add(defaultFn, f.struct!);
        add(isDefaultFn, f.struct!);
      }
    }
  }
  return { defaultFn, isDefaultFn };
}

/** Per-struct view: the versions the struct can occur in, and conditions simplified to them. */
class StructContext {
  readonly U: number[];
  readonly flexCond: string;
  readonly flexible: number[];

  constructor(
    readonly m: MessageModel,
    readonly s: StructModel,
  ) {
    this.U = s.versions;
    this.flexible = within(m.flexible, this.U);
    this.flexCond = conditionWithin(m.flexible, this.U);
  }

  cond(set: readonly number[]): string {
    return conditionWithin(set, this.U);
  }

  /** Some versions are flexible and some are not: the code tests `flex`. */
  get usesFlex(): boolean {
    return this.flexCond !== 'true' && this.flexCond !== 'false';
  }

  compactMode(f: FieldModel, versions: readonly number[]): Mode {
    if (f.neverCompact) return 'no';
    return modeOf(this.m.flexible, within(versions, this.U));
  }

  /** 'true', 'false' or 'flex'. */
  flexExpr(mode: Mode): string {
    return mode === 'yes' ? 'true' : mode === 'no' ? 'false' : 'flex';
  }

  /** The field is tagged in every flexible version the struct occurs in. */
  taggedWheneverFlexible(f: FieldModel): boolean {
    return this.flexible.every((v) => f.tagged.includes(v));
  }
}

class MessageEmitter {
  private readonly needs: ReturnType<typeof collectNeeds>;

  constructor(
    private readonly m: MessageModel,
    private readonly w: CodeWriter,
  ) {
    this.needs = collectNeeds(m);
  }

  emit(): void {
    const w = this.w;
    for (const s of this.m.structs) this.emitInterface(s);
    for (const s of this.m.structs) {
      w.line(`const F_${s.tsName} = [${[...s.fields.map((f) => quote(f.prop)), "'(tagged fields)'"].join(', ')}] as const;`);
    }
    w.line();
    for (const s of this.m.structs) if (this.needs.defaultFn.has(s)) this.emitDefaultFn(s);
    for (const s of this.m.structs) if (this.needs.isDefaultFn.has(s)) this.emitIsDefaultFn(s);
    for (const s of this.m.structs) this.emitDecode(new StructContext(this.m, s));
    for (const s of this.m.structs) this.emitEncode(new StructContext(this.m, s));
    this.emitCodec();
  }

  // ------------------------------------------------------------------ interfaces

  private emitInterface(s: StructModel): void {
    const w = this.w;
    const max = this.m.max;
    if (s === this.m.root) {
      const legacy = this.m.legacyOnly.length ? `; versions ${describeVersions(this.m.legacyOnly, max)} from legacy-2024` : '';
      docComment(w, `${this.m.name}, versions ${this.m.min}-${this.m.max}${legacy}.`);
    }
    w.block(`export interface ${s.tsName}`, () => {
      for (const f of s.fields) {
        const notes: string[] = [`versions ${describeVersions(f.present, max)}`];
        if (f.nullable.length) notes.push(`nullable ${describeVersions(f.nullable, max)}`);
        if (f.tagged.length) notes.push(`tag ${f.tag} in ${describeVersions(f.tagged, max)}`);
        if (f.ignorable) notes.push('ignorable');
        if (f.entityType) notes.push(`entity ${f.entityType}`);
        docComment(w, `${f.about}${f.about && !/[.!?]$/.test(f.about) ? '.' : ''} (${notes.join('; ')})`);
        w.line(`${f.prop}: ${fieldTsType(f)};`);
      }
      w.line('/** Tagged fields this version does not know, kept as they were read and written back. */');
      w.line('unknownTaggedFields?: TaggedField[];');
    });
    w.line();
  }

  // ------------------------------------------------------------------ default helpers

  private emitDefaultFn(s: StructModel): void {
    this.w.block(`function default${s.tsName}(): ${s.tsName}`, () => {
      const parts = s.fields.map((f) => `${f.prop}: ${decodeDefault(f)}`);
      this.w.line(`return { ${parts.join(', ')} };`);
    });
    this.w.line();
  }

  private emitIsDefaultFn(s: StructModel): void {
    this.w.block(`function isDefault${s.tsName}(s: MessageInput<${s.tsName}>): boolean`, () => {
      const parts = s.fields.map((f) => `(s.${f.prop} === undefined || !(${nonDefault(f, `s.${f.prop}`)}))`);
      parts.push('(s.unknownTaggedFields === undefined || s.unknownTaggedFields.length === 0)');
      this.w.line('return (');
      this.w.indent(() => parts.forEach((p, i) => this.w.line(`${p}${i < parts.length - 1 ? ' &&' : ''}`)));
      this.w.line(');');
    });
    this.w.line();
  }

  // ------------------------------------------------------------------ decode

  /** Decode expression of a primitive value (not an array, not a struct). */
  private readPrim(c: StructContext, f: FieldModel, versions: readonly number[]): string {
    const p = f.prim!;
    const simple = READ_PRIM[p];
    if (simple) return `r.${simple}()`;
    const compact = c.compactMode(f, versions);
    const nullable = modeOf(f.nullable, within(versions, c.U));
    const pick = (cc: boolean, n: boolean): string =>
      `r.read${cc ? 'Compact' : ''}${n ? 'Nullable' : ''}${p === 'string' ? 'String' : 'Bytes'}()`;
    const byNull = (cc: boolean): string =>
      nullable === 'rt' ? `(${c.cond(f.nullable)} ? ${pick(cc, true)} : ${pick(cc, false)})` : pick(cc, nullable === 'yes');
    if (compact === 'rt') return `(flex ? ${byNull(true)} : ${byNull(false)})`;
    return byNull(compact === 'yes');
  }

  private readStruct(c: StructContext, f: FieldModel, versions: readonly number[]): string {
    const call = `decode${f.struct!.tsName}(r, v)`;
    const nullable = modeOf(f.nullable, within(versions, c.U));
    const withMarker = `(r.readInt8() < 0 ? null : ${call})`;
    if (nullable === 'no') return call;
    if (nullable === 'yes') return withMarker;
    return `(${c.cond(f.nullable)} ? ${withMarker} : ${call})`;
  }

  /** Statements reading an array field into `target` (already declared). */
  private readArray(c: StructContext, f: FieldModel, target: string, versions: readonly number[]): void {
    const w = this.w;
    const vs = within(versions, c.U);
    const compact = c.compactMode(f, vs);
    const nullable = modeOf(f.nullable, vs);
    const nullArg = nullable === 'rt' ? c.cond(f.nullable) : nullable === 'yes' ? 'true' : 'false';
    const elementMin = Math.min(
      ...vs.map((v) => {
        const flexible = this.m.flexible.includes(v);
        return f.prim ? primBytesMin(f.prim, flexible && !f.neverCompact) : structBytesMin(f.struct!, v, flexible);
      }),
    );
    const len = (cc: boolean): string => `r.read${cc ? 'Compact' : ''}ArrayLength(${elementMin}, ${nullArg})`;
    const lenExpr = compact === 'rt' ? `flex ? ${len(true)} : ${len(false)}` : len(compact === 'yes');
    w.line(`const n = ${lenExpr};`);
    const fill = (): void => {
      if (f.prim) {
        const extra = f.prim === 'string' || f.prim === 'bytes' || f.prim === 'records' ? `, ${c.flexExpr(compact)}` : '';
        w.line(`${target} = rt.read${ARRAY_HELPER[f.prim]}(r, n${extra});`);
        return;
      }
      const t = f.struct!.tsName;
      w.line(`const a: ${t}[] = [];`);
      w.block('for (let i = 0; i < n; i++)', () => {
        w.line('ix = i;');
        w.line(`a.push(decode${t}(r, v));`);
      });
      w.line('ix = -1;');
      w.line(`${target} = a;`);
    };
    if (nullable === 'no') fill();
    else {
      w.block('if (n < 0)', () => w.line(`${target} = null;`));
      w.chain('else', fill);
    }
  }

  private readValueInto(c: StructContext, f: FieldModel, target: string, versions: readonly number[]): void {
    if (f.kind === 'array') this.readArray(c, f, target, versions);
    else if (f.kind === 'prim') this.w.line(`${target} = ${this.readPrim(c, f, versions)};`);
    else this.w.line(`${target} = ${this.readStruct(c, f, versions)};`);
  }

  private emitDecode(c: StructContext): void {
    const w = this.w;
    const s = c.s;
    const hasStructArrays = s.fields.some((f) => f.kind === 'array' && f.struct);
    const tagged = s.fields.filter((f) => within(f.tagged, c.U).length > 0).sort((a, b) => a.tag! - b.tag!);
    const taggedIndex = s.fields.length;
    w.block(`function decode${s.tsName}(r: Reader, v: number): ${s.tsName}`, () => {
      w.line('let f = 0;');
      if (hasStructArrays) w.line('let ix = -1;');
      w.block('try', () => {
        if (c.usesFlex) w.line(`const flex = ${c.flexCond};`);
        s.fields.forEach((f, i) => {
          const regular = within(minus(f.present, f.tagged), c.U);
          const always = regular.length === c.U.length;
          const type = fieldTsType(f);
          const isTagged = within(f.tagged, c.U).length > 0;
          if (regular.length > 0) w.line(`f = ${i};`);
          if (regular.length === 0) {
            w.line(`${isTagged ? 'let' : 'const'} $${f.prop}: ${type} = ${decodeDefault(f)};`);
          } else if (f.kind === 'array') {
            w.line(`let $${f.prop}: ${type};`);
            if (always) w.block('', () => this.readArray(c, f, `$${f.prop}`, regular));
            else {
              w.block(`if (${bare(c.cond(regular))})`, () => this.readArray(c, f, `$${f.prop}`, regular));
              w.chain('else', () => w.line(`$${f.prop} = ${decodeDefault(f)};`));
            }
          } else {
            const read = f.kind === 'prim' ? this.readPrim(c, f, regular) : this.readStruct(c, f, regular);
            const value = always ? read : `${c.cond(regular)} ? ${read} : ${decodeDefault(f)}`;
            w.line(`${isTagged ? 'let' : 'const'} $${f.prop}: ${type} = ${value};`);
          }
        });
        w.line('let unknown: TaggedField[] | undefined;');
        const section = (): void => {
          w.line(`f = ${taggedIndex};`);
          w.line('const count = r.readUnsignedVarint();');
          w.block('for (let t = 0; t < count; t++)', () => {
            w.line('const tag = r.readUnsignedVarint();');
            w.line('const size = r.readUnsignedVarint();');
            if (tagged.length > 0) {
              w.block('switch (tag)', () => {
                for (const f of tagged) {
                  w.line(`case ${f.tag}:`);
                  w.indent(() => {
                    const read = (): void => {
                      w.line(`f = ${s.fields.indexOf(f)};`);
                      w.line('const end = rt.beginTagged(r, size);');
                      this.readValueInto(c, f, `$${f.prop}`, f.tagged);
                      w.line('rt.endTagged(r, end);');
                      w.line(`f = ${taggedIndex};`);
                      w.line('continue;');
                    };
                    if (c.taggedWheneverFlexible(f)) w.block('', read);
                    else {
                      // Known only from some version on; before that it is an unknown tag.
                      w.block(`if (${bare(c.cond(f.tagged))})`, read);
                      w.line('break;');
                    }
                  });
                }
              });
            }
            w.line('unknown = rt.pushTagged(r, unknown, tag, size);');
          });
        };
        if (c.flexCond === 'true') section();
        else if (c.flexCond !== 'false') w.block('if (flex)', section);
        const parts = s.fields.map((f) => `${f.prop}: $${f.prop}`);
        w.line(`const m: ${s.tsName} = { ${parts.join(', ')} };`);
        w.line('if (unknown !== undefined) m.unknownTaggedFields = unknown;');
        w.line('return m;');
      });
      w.chain('catch (e)', () => {
        w.line(`throw rt.decodeFailure(e, r, F_${s.tsName}, f, ${hasStructArrays ? 'ix' : '-1'});`);
      });
    });
    w.line();
  }

  // ------------------------------------------------------------------ encode

  /** Statements writing value `x` (not undefined) of field f to writer `out`. */
  private writeValue(c: StructContext, f: FieldModel, x: string, out: string, versions: readonly number[]): void {
    const w = this.w;
    const vs = within(versions, c.U);
    const compact = c.compactMode(f, vs);
    const nullable = modeOf(f.nullable, vs);
    const nullCond = c.cond(f.nullable);
    const nullError = `throw rt.nullField('${c.s.tsName}', '${f.prop}', v);`;
    if (f.kind === 'prim') {
      const p = f.prim!;
      const simple = WRITE_PRIM[p];
      if (simple) {
        w.line(`${out}.${simple}(${x});`);
        return;
      }
      if (p === 'records') {
        if (nullable !== 'yes') w.line(`if (${x} === null${nullable === 'rt' ? ` && !(${nullCond})` : ''}) ${nullError}`);
        w.line(`rt.writeRecords(${out}, ${x}, ${c.flexExpr(compact)});`);
        return;
      }
      const call = (n: boolean): string => {
        const name = (cc: boolean): string =>
          `${out}.write${cc ? 'Compact' : ''}${n ? 'Nullable' : ''}${p === 'string' ? 'String' : 'Bytes'}(${x})`;
        return compact === 'rt' ? `if (flex) ${name(true)};\nelse ${name(false)};` : `${name(compact === 'yes')};`;
      };
      const lines = (text: string): void => text.split('\n').forEach((l) => w.line(l));
      if (nullable === 'yes') lines(call(true));
      else if (nullable === 'no') {
        if (canBeNull(f)) w.line(`if (${x} === null) ${nullError}`);
        lines(call(false));
      } else {
        w.block(`if (${bare(nullCond)})`, () => lines(call(true)));
        w.chain('else', () => {
          w.line(`if (${x} === null) ${nullError}`);
          lines(call(false));
        });
      }
      return;
    }
    if (f.kind === 'struct') {
      const t = f.struct!.tsName;
      if (!canBeNull(f)) {
        w.line(`encode${t}(${out}, ${x}, v);`);
        return;
      }
      const withMarker = (): void => {
        w.block(`if (${x} === null)`, () => w.line(`${out}.writeInt8(-1);`));
        w.chain('else', () => {
          w.line(`${out}.writeInt8(1);`);
          w.line(`encode${t}(${out}, ${x}, v);`);
        });
      };
      const withoutMarker = (): void => {
        w.line(`if (${x} === null) ${nullError}`);
        w.line(`encode${t}(${out}, ${x}, v);`);
      };
      if (nullable === 'yes') withMarker();
      else if (nullable === 'no') withoutMarker();
      else {
        w.block(`if (${bare(nullCond)})`, withMarker);
        w.chain('else', withoutMarker);
      }
      return;
    }
    const lengthOf = (n: string): string =>
      compact === 'rt'
        ? `rt.writeArrayLength(${out}, ${n}, flex);`
        : compact === 'yes'
          ? `${out}.writeUnsignedVarint(${n} + 1);`
          : `${out}.writeInt32(${n});`;
    const elements = (): void => {
      w.line(lengthOf(`${x}.length`));
      if (f.prim) {
        const extra = f.prim === 'string' || f.prim === 'bytes' || f.prim === 'records' ? `, ${c.flexExpr(compact)}` : '';
        w.line(`rt.write${ARRAY_HELPER[f.prim]}(${out}, ${x}${extra});`);
      } else {
        w.line(`for (const e of ${x}) encode${f.struct!.tsName}(${out}, e, v);`);
      }
    };
    if (!canBeNull(f)) {
      elements();
      return;
    }
    w.block(`if (${x} === null)`, () => {
      if (nullable === 'no') w.line(nullError);
      else {
        if (nullable === 'rt') w.line(`if (!(${nullCond})) ${nullError}`);
        w.line(lengthOf('-1'));
      }
    });
    w.chain('else', elements);
  }

  /** `const $x = <value or default>;` for encoding. */
  private valueDecl(f: FieldModel): string {
    const def = encodeDefault(f);
    if (canBeNull(f)) return `const $${f.prop} = m.${f.prop} === undefined ? ${def} : m.${f.prop};`;
    return `const $${f.prop} = m.${f.prop} ?? ${def};`;
  }

  /** Writes a field in the fixed part of the struct (inside its own block when it declares locals). */
  private writeRegular(c: StructContext, f: FieldModel, versions: readonly number[], inBlock: boolean): void {
    const w = this.w;
    if (f.kind === 'prim' && WRITE_PRIM[f.prim!]) {
      w.line(`w.${WRITE_PRIM[f.prim!]!}(m.${f.prop} ?? ${encodeDefault(f)});`);
      return;
    }
    if (f.kind === 'struct' && !canBeNull(f)) {
      w.line(`encode${f.struct!.tsName}(w, m.${f.prop} ?? rt.EMPTY_INPUT, v);`);
      return;
    }
    const body = (): void => {
      w.line(this.valueDecl(f));
      this.writeValue(c, f, `$${f.prop}`, 'w', versions);
    };
    if (inBlock) body();
    else w.block('', body);
  }

  private checkAbsent(c: StructContext, f: FieldModel): void {
    this.w.line(`const $${f.prop} = m.${f.prop};`);
    this.w.line(
      `if ($${f.prop} !== undefined && ${nonDefault(f, `$${f.prop}`)}) throw rt.unsupportedField('${c.s.tsName}', '${f.prop}', v);`,
    );
  }

  private emitEncode(c: StructContext): void {
    const w = this.w;
    const s = c.s;
    w.block(`function encode${s.tsName}(w: Writer, m: MessageInput<${s.tsName}>, v: number): void`, () => {
      if (c.usesFlex) w.line(`const flex = ${c.flexCond};`);
      for (const f of s.fields) {
        const regular = within(minus(f.present, f.tagged), c.U);
        const absent = minus(c.U, f.present);
        const taggedHere = within(f.tagged, c.U);
        // Kafka's rule: a non-ignorable field with a value the version cannot carry is an error.
        // Fjord applies it to what clients write (requests, records) but not to responses: a
        // broker answers each client in the client's version, and a field that version lacks
        // simply cannot be delivered, so handlers need no per-version branches for it.
        const mustCheck = !f.ignorable && absent.length > 0 && this.m.kind !== 'response';
        if (regular.length === c.U.length) {
          this.writeRegular(c, f, regular, false);
        } else if (regular.length > 0) {
          w.block(`if (${bare(c.cond(regular))})`, () => this.writeRegular(c, f, regular, true));
          if (mustCheck) {
            if (taggedHere.length > 0) w.chain(`else if (${bare(c.cond(absent))})`, () => this.checkAbsent(c, f));
            else w.chain('else', () => this.checkAbsent(c, f));
          }
        } else if (mustCheck) {
          // Tagged-only (or never present): the tagged section writes it; refuse it where it does not exist.
          if (absent.length === c.U.length) w.block('', () => this.checkAbsent(c, f));
          else w.block(`if (${bare(c.cond(absent))})`, () => this.checkAbsent(c, f));
        }
      }
      if (c.flexCond === 'true') this.writeTaggedSection(c);
      else if (c.flexCond !== 'false') w.block('if (flex)', () => this.writeTaggedSection(c));
    });
    w.line();
  }

  private writeTaggedSection(c: StructContext): void {
    const w = this.w;
    const tagged = c.s.fields.filter((f) => within(f.tagged, c.U).length > 0).sort((a, b) => a.tag! - b.tag!);
    w.line('const unknown = rt.sortTagged(m.unknownTaggedFields);');
    if (tagged.length === 0) {
      w.line('w.writeUnsignedVarint(unknown.length);');
      w.line('if (unknown.length > 0) rt.writeUnknownTagged(w, unknown, 0, Infinity, -1);');
      return;
    }
    w.line('let count = unknown.length;');
    for (const f of tagged) {
      w.line(this.valueDecl(f));
      const inVersion = c.taggedWheneverFlexible(f) ? '' : `${c.cond(f.tagged)} && `;
      w.line(`const t${f.tag} = ${inVersion}${nonDefault(f, `$${f.prop}`)};`);
      w.line(`if (t${f.tag}) count++;`);
    }
    w.line('w.writeUnsignedVarint(count);');
    w.line('let u = 0;');
    for (const f of tagged) {
      const known = c.taggedWheneverFlexible(f) ? `${f.tag}` : `${c.cond(f.tagged)} ? ${f.tag} : -1`;
      w.line(`u = rt.writeUnknownTagged(w, unknown, u, ${f.tag}, ${known});`);
      w.block(`if (t${f.tag})`, () => {
        const size = f.kind === 'prim' && !canBeNull(f) ? FIXED_SIZE[f.prim!] : undefined;
        if (size !== undefined) {
          w.line(`w.writeUnsignedVarint(${f.tag});`);
          w.line(`w.writeUnsignedVarint(${size});`);
          w.line(`w.${WRITE_PRIM[f.prim!]!}($${f.prop});`);
        } else {
          w.line('const s = rt.acquireWriter();');
          this.writeValue(c, f, `$${f.prop}`, 's', f.tagged);
          w.line(`rt.writeTaggedFrom(w, ${f.tag}, s);`);
        }
      });
    }
    w.line('rt.writeUnknownTagged(w, unknown, u, Infinity, -1);');
  }

  // ------------------------------------------------------------------ codec object

  private emitCodec(): void {
    const w = this.w;
    const m = this.m;
    const name = m.name;
    docComment(w, `Codec of ${name} (versions ${m.min}-${m.max}${m.flexible.length ? `, flexible from ${m.flexibleMin}` : ''}).`);
    w.block(
      `export const ${name} =`,
      () => {
        w.line(`name: '${name}',`);
        w.line(`apiKey: ${m.apiKey},`);
        if (m.recordType !== null) w.line(`recordType: ${m.recordType},`);
        w.line(`kind: '${m.kind}',`);
        w.line(`minVersion: ${m.min},`);
        w.line(`maxVersion: ${m.max},`);
        w.line(`flexibleVersionsMin: ${Number.isFinite(m.flexibleMin) ? m.flexibleMin : 'Infinity'},`);
        w.line(`latestVersionUnstable: ${m.latestVersionUnstable},`);
        w.block(
          `encode(w: Writer, message: MessageInput<${name}>, version: number): void`,
          () => {
            w.line(`rt.checkEncodeVersion('${name}', version, ${m.min}, ${m.max});`);
            w.line(`encode${name}(w, message, version);`);
          },
          '},',
        );
        w.block(
          `decode(r: Reader, version: number): ${name}`,
          () => {
            w.line(`rt.checkDecodeVersion(r, '${name}', version, ${m.min}, ${m.max});`);
            w.block('try', () => w.line(`return decode${name}(r, version);`));
            w.chain('catch (e)', () => w.line(`throw rt.decodeFailureTop(e, r, '${name}');`));
          },
          '},',
        );
      },
      `} as const satisfies MessageCodec<${name}>;`,
    );
    w.line();
  }
}

export function emitMessage(m: MessageModel, w: CodeWriter): void {
  new MessageEmitter(m, w).emit();
}
