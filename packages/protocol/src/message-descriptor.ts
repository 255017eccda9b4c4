/**
 * Schema descriptors: a data description of each generated message (fields, types, version sets),
 * emitted by the generator next to the codecs (src/generated/descriptors.ts). The codecs do not use
 * them; tests build random messages from them, and tools can use them (e.g. `entityType` for
 * redaction or ACL checks).
 */

/** Sorted, disjoint, inclusive version runs, e.g. [[0, 2], [5, 13]]. */
export type VersionRuns = readonly (readonly [number, number])[];

/** The schema's primitive types: what a field holds when it is not a struct (the generator reads this list too). */
export const primitiveTypes = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint16', 'uint32', 'float64', 'uuid', 'string', 'bytes', 'records'] as const;

export type PrimitiveType = (typeof primitiveTypes)[number];

export interface FieldDescriptor {
  /** Property name (camelCase). */
  readonly name: string;
  /** The element type for arrays. */
  readonly type: PrimitiveType | 'struct';
  readonly array: boolean;
  /** Key in `MessageDescriptor.structs` when `type` is 'struct'. */
  readonly struct?: string;
  readonly present: VersionRuns;
  readonly nullable: VersionRuns;
  readonly tagged: VersionRuns;
  readonly tag?: number;
  readonly ignorable: boolean;
  /** The default is null. */
  readonly defaultNull: boolean;
  /** Default of a primitive (other than bytes/records) when not null. */
  readonly default?: number | bigint | boolean | string;
  /** Never uses the compact encoding (RequestHeader.clientId). */
  readonly neverCompact?: boolean;
  readonly entityType?: string;
}

export interface MessageDescriptor {
  readonly name: string;
  readonly kind: 'request' | 'response' | 'header' | 'data' | 'coordinator-key' | 'coordinator-value';
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexible: VersionRuns;
  /** Key of the top-level struct in `structs` (the message name). */
  readonly root: string;
  readonly structs: Readonly<Record<string, readonly FieldDescriptor[]>>;
}

export function inRuns(runs: VersionRuns, v: number): boolean {
  for (const [a, b] of runs) if (v >= a && v <= b) return true;
  return false;
}
