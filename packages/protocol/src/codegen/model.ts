/**
 * The generator's model of a message: the current schema merged with the legacy-2024 schema for the
 * versions that only the legacy file lists (Kafka 4.0 dropped them; Fjord still serves them).
 *
 * Every field carries explicit version sets (present, nullable, tagged) within the message's version
 * range, computed per version from whichever file defines that version's layout. The generator
 * checks that, version by version, the merged field order is exactly the source file's order.
 */
import { primitiveTypes, type PrimitiveType } from '../message-descriptor.js';
import type { RawField, RawMessage, RawStruct } from './schema-files.js';
import { inRange, parseVersions, rangeList, type VersionRange } from './versions.js';

const PRIMS: ReadonlySet<string> = new Set(primitiveTypes);

export interface FieldModel {
  /** Name in the schema (usually PascalCase). */
  name: string;
  /** Property name in TypeScript (camelCase). */
  prop: string;
  about: string;
  kind: 'prim' | 'struct' | 'array';
  /** For 'prim', and for arrays of primitives. */
  prim: PrimitiveType | null;
  /** For 'struct', and for arrays of structs. */
  struct: StructModel | null;
  present: number[];
  nullable: number[];
  tagged: number[];
  tag: number | null;
  ignorable: boolean;
  /** Raw `default` from the schema (undefined when none). */
  defaultRaw: unknown;
  /** Field-level `"flexibleVersions": "none"`: never uses the compact encoding (RequestHeader.ClientId). */
  neverCompact: boolean;
  entityType: string | null;
}

export interface StructModel {
  /** TypeScript interface name: the message name, or message name + struct name. */
  tsName: string;
  schemaName: string;
  fields: FieldModel[];
  /** Message versions in which this struct can occur (all versions for the root). */
  versions: number[];
}

export type MessageKindName = 'request' | 'response' | 'header' | 'data' | 'coordinator-key' | 'coordinator-value';

export interface MessageModel {
  name: string;
  kind: MessageKindName;
  apiKey: number;
  /** For coordinator keys and values: the record type (the file's apiKey). */
  recordType: number | null;
  versions: number[];
  min: number;
  max: number;
  flexible: number[];
  flexibleMin: number;
  latestVersionUnstable: boolean;
  listeners: string[];
  /** Versions whose layout comes from the legacy-2024 file. */
  legacyOnly: number[];
  root: StructModel;
  /** Every struct, root first, in a stable depth-first order. */
  structs: StructModel[];
  sourceFiles: string[];
}

export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

interface Source {
  msg: RawMessage;
  /** Versions whose layout this file defines. */
  versions: ReadonlySet<number>;
  common: Map<string, RawStruct>;
}

function elementName(type: string): string {
  return type.startsWith('[]') ? type.slice(2) : type;
}

function structFieldsOf(field: RawField, src: Source): RawField[] | null {
  const el = elementName(field.type);
  if (PRIMS.has(el)) return null;
  if (field.fields) return field.fields;
  const common = src.common.get(el);
  if (!common) throw new Error(`${src.msg.name}: struct type ${el} of field ${field.name} is not defined`);
  return common.fields;
}

class Builder {
  readonly structs = new Map<string, StructModel>();
  readonly order: StructModel[] = [];

  constructor(
    readonly name: string,
    readonly all: number[],
    readonly cur: Source,
    readonly leg: Source | null,
    readonly flexible: number[],
  ) {}

  private versionsWhere(pick: (src: Source, v: number) => boolean): number[] {
    return this.all.filter((v) => {
      if (this.cur.versions.has(v)) return pick(this.cur, v);
      if (this.leg && this.leg.versions.has(v)) return pick(this.leg, v);
      return false;
    });
  }

  struct(schemaName: string, isRoot: boolean, curFields: RawField[] | null, legFields: RawField[] | null): StructModel {
    const tsName = isRoot ? this.name : this.name + schemaName;
    const existing = this.structs.get(tsName);
    if (existing) return existing;
    const model: StructModel = { tsName, schemaName, fields: [], versions: [] };
    this.structs.set(tsName, model);
    this.order.push(model);

    const cur = curFields ?? [];
    const leg = legFields ?? [];
    const entries: { cur: RawField | null; leg: RawField | null }[] = cur.map((c) => ({
      cur: c,
      leg: leg.find((l) => l.name === c.name) ?? null,
    }));
    // Fields only the legacy file has: insert after the legacy field that precedes them.
    leg.forEach((l, i) => {
      if (cur.some((c) => c.name === l.name)) return;
      let at = 0;
      for (let j = i - 1; j >= 0; j--) {
        const k = entries.findIndex((e) => (e.cur ?? e.leg)!.name === leg[j]!.name);
        if (k >= 0) {
          at = k + 1;
          break;
        }
      }
      entries.splice(at, 0, { cur: null, leg: l });
    });

    for (const e of entries) model.fields.push(this.field(e.cur, e.leg));
    this.check(model, entries);
    return model;
  }

  private field(cur: RawField | null, leg: RawField | null): FieldModel {
    const f = (cur ?? leg)!;
    const pick = (src: Source): RawField | null => (src === this.cur ? cur : leg);
    const present = this.versionsWhere((src, v) => {
      const r = pick(src);
      return r !== null && inRange(parseVersions(r.versions ?? r.taggedVersions), v);
    });
    const nullable = this.versionsWhere((src, v) => {
      const r = pick(src);
      return r !== null && inRange(parseVersions(r.nullableVersions), v);
    }).filter((v) => present.includes(v));
    const tagged = this.versionsWhere((src, v) => {
      const r = pick(src);
      return r !== null && r.tag !== undefined && inRange(parseVersions(r.taggedVersions), v);
    }).filter((v) => present.includes(v));

    if (cur && leg) {
      const a = cur.type.startsWith('[]');
      const b = leg.type.startsWith('[]');
      const ea = elementName(cur.type);
      const eb = elementName(leg.type);
      const sameKind = a === b && (PRIMS.has(ea) ? ea === eb : !PRIMS.has(eb));
      if (!sameKind) throw new Error(`${this.name}.${f.name}: type ${cur.type} vs legacy ${leg.type}`);
      if (cur.tag !== undefined && leg.tag !== undefined && cur.tag !== leg.tag) {
        throw new Error(`${this.name}.${f.name}: tag ${cur.tag} vs legacy ${leg.tag}`);
      }
    }
    for (const v of tagged) {
      if (!this.flexible.includes(v)) throw new Error(`${this.name}.${f.name}: tagged in non-flexible version ${v}`);
    }

    const el = elementName(f.type);
    const isArray = f.type.startsWith('[]');
    let struct: StructModel | null = null;
    let prim: PrimitiveType | null = null;
    if (PRIMS.has(el)) {
      prim = el as PrimitiveType;
    } else {
      const cf = cur ? structFieldsOf(cur, this.cur) : null;
      const lf = leg && this.leg ? structFieldsOf(leg, this.leg) : null;
      const structName = cur ? elementName(cur.type) : el;
      struct = this.struct(structName, false, cf, lf);
    }
    const tag = cur?.tag ?? leg?.tag ?? null;
    return {
      name: f.name,
      prop: camelCase(f.name),
      about: (cur?.about ?? leg?.about ?? '').trim(),
      kind: isArray ? 'array' : prim ? 'prim' : 'struct',
      prim,
      struct,
      present,
      nullable,
      tagged,
      tag: tagged.length > 0 ? tag : null,
      ignorable: (cur ?? leg)!.ignorable === true,
      defaultRaw: cur ? cur.default : leg!.default,
      neverCompact: (cur ?? leg)!.flexibleVersions === 'none',
      entityType: (cur ?? leg)!.entityType ?? null,
    };
  }

  /** Per version: the merged order of the fields present must be the defining file's order; tags unique. */
  private check(model: StructModel, entries: { cur: RawField | null; leg: RawField | null }[]): void {
    for (const v of this.all) {
      const src = this.cur.versions.has(v) ? this.cur : this.leg!;
      const raw = entries
        .map((e) => (src === this.cur ? e.cur : e.leg))
        .filter((r): r is RawField => r !== null && inRange(parseVersions(r.versions ?? r.taggedVersions), v))
        .map((r) => r.name);
      const merged = model.fields.filter((f) => f.present.includes(v)).map((f) => f.name);
      if (raw.join() !== merged.join()) {
        throw new Error(`${model.tsName} v${v}: merged field order ${merged.join()} differs from the schema's ${raw.join()}`);
      }
      const tags = model.fields.filter((f) => f.tagged.includes(v)).map((f) => f.tag);
      if (new Set(tags).size !== tags.length) throw new Error(`${model.tsName} v${v}: duplicate tags`);
    }
  }
}

const KINDS: ReadonlySet<string> = new Set(['request', 'response', 'header', 'data', 'coordinator-key', 'coordinator-value']);

/**
 * Builds the model of one message from its current file and, optionally, the legacy file of the
 * same name (used only for the versions the current file no longer lists).
 */
export function buildMessage(current: RawMessage, legacy: RawMessage | null, sourceFiles: string[]): MessageModel {
  if (!KINDS.has(current.type)) throw new Error(`${current.name}: unsupported type ${current.type}`);
  const curRange = parseVersions(current.validVersions);
  if (curRange === null) throw new Error(`${current.name}: no valid versions`);
  const curVersions = rangeList(curRange);
  const legRange: VersionRange | null = legacy ? parseVersions(legacy.validVersions) : null;
  const legacyOnly = rangeList(legRange).filter((v) => !curVersions.includes(v));
  const all = [...new Set([...curVersions, ...legacyOnly])].sort((a, b) => a - b);
  for (let i = 1; i < all.length; i++) {
    if (all[i] !== all[i - 1]! + 1) throw new Error(`${current.name}: versions ${all.join()} are not contiguous`);
  }
  const curFlex = parseVersions(current.flexibleVersions);
  const legFlex = legacy ? parseVersions(legacy.flexibleVersions) : null;
  const flexible = all.filter((v) => (curVersions.includes(v) ? inRange(curFlex, v) : inRange(legFlex, v)));
  const flexibleMin = flexible.length > 0 ? flexible[0]! : Infinity;
  if (flexible.length > 0 && flexible.length !== all.length - all.indexOf(flexibleMin)) {
    throw new Error(`${current.name}: flexible versions ${flexible.join()} are not open-ended`);
  }

  const cur: Source = {
    msg: current,
    versions: new Set(curVersions),
    common: new Map((current.commonStructs ?? []).map((s) => [s.name, s])),
  };
  const leg: Source | null =
    legacy && legacyOnly.length > 0
      ? { msg: legacy, versions: new Set(legacyOnly), common: new Map((legacy.commonStructs ?? []).map((s) => [s.name, s])) }
      : null;
  const b = new Builder(current.name, all, cur, leg, flexible);
  const root = b.struct(current.name, true, current.fields, leg ? legacy!.fields : null);
  computeStructVersions(root, b.order, all);
  const kind = current.type as MessageKindName;
  const isCoordinator = kind === 'coordinator-key' || kind === 'coordinator-value';
  return {
    name: current.name,
    kind,
    apiKey: kind === 'request' || kind === 'response' ? current.apiKey! : -1,
    recordType: isCoordinator ? (current.apiKey ?? null) : null,
    versions: all,
    min: all[0]!,
    max: all[all.length - 1]!,
    flexible,
    flexibleMin,
    latestVersionUnstable: current.latestVersionUnstable === true,
    listeners: current.listeners ?? [],
    legacyOnly: leg ? legacyOnly : [],
    root,
    structs: b.order,
    sourceFiles,
  };
}

/** Which versions each struct can occur in: the root in all, a nested struct where its field is present. */
function computeStructVersions(root: StructModel, structs: StructModel[], all: number[]): void {
  root.versions = [...all];
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of structs) {
      for (const f of s.fields) {
        if (!f.struct) continue;
        const add = f.present.filter((v) => s.versions.includes(v) && !f.struct!.versions.includes(v));
        if (add.length > 0) {
          f.struct.versions = [...f.struct.versions, ...add].sort((a, b) => a - b);
          changed = true;
        }
      }
    }
  }
  // A struct that can never occur still gets code; give it every version so the code is total.
  for (const s of structs) if (s.versions.length === 0) s.versions = [...all];
}

/** Smallest number of bytes one value of the struct can take at version v. */
export function structBytesMin(s: StructModel, v: number, flexible: boolean): number {
  let n = flexible ? 1 : 0; // tagged-field count
  for (const f of s.fields) {
    if (!f.present.includes(v) || f.tagged.includes(v)) continue;
    n += fieldBytesMin(f, v, flexible);
  }
  return n;
}

export function primBytesMin(p: PrimitiveType, compact: boolean): number {
  switch (p) {
    case 'bool':
    case 'int8':
      return 1;
    case 'int16':
    case 'uint16':
      return 2;
    case 'int32':
    case 'uint32':
      return 4;
    case 'int64':
    case 'float64':
      return 8;
    case 'uuid':
      return 16;
    case 'string':
      return compact ? 1 : 2;
    case 'bytes':
    case 'records':
      return compact ? 1 : 4;
  }
}

export function fieldBytesMin(f: FieldModel, v: number, flexible: boolean): number {
  const compact = flexible && !f.neverCompact;
  if (f.kind === 'array') return compact ? 1 : 4;
  if (f.kind === 'prim') return primBytesMin(f.prim!, compact);
  if (f.nullable.includes(v)) return 1;
  return structBytesMin(f.struct!, v, flexible);
}
