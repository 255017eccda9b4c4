/**
 * Configuration definitions by Kafka's names, with Kafka's types and defaults.
 *
 * A topic config may be backed by one or more broker configs ("synonyms"): the topic's own
 * override wins, then the broker's static setting (server.properties / --set), then the default.
 * DescribeConfigs reports the chain in that order, as Kafka does.
 */

/** Kafka's ConfigType as carried in DescribeConfigs v3+. */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigTypeName = Exclude<keyof typeof ConfigType, 'UNKNOWN'>;

/** Kafka's ConfigSource as carried in DescribeConfigs v1+. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigTypeName;
  /** Default as Kafka prints it; null means no default (the config is unset). */
  readonly default: string | null;
  readonly doc: string;
  /** Returns an error message, or undefined when the (already type-checked) value is acceptable. */
  readonly validate?: (value: string) => string | undefined;
  readonly sensitive?: boolean;
}

export const LONG_MAX = '9223372036854775807';
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/** Checks a value against its type; returns an error message or undefined. */
export function checkType(def: ConfigDef, raw: string): string | undefined {
  const value = raw.trim();
  switch (def.type) {
    case 'BOOLEAN':
      return value === 'true' || value === 'false' ? undefined : `Expected value to be either true or false`;
    case 'INT':
    case 'SHORT': {
      if (!/^-?\d+$/.test(value)) return `Expected value to be a 32-bit integer, but it was a ${describe(value)}`;
      const n = Number(value);
      const [lo, hi] = def.type === 'INT' ? [INT_MIN, INT_MAX] : [-32768, 32767];
      return n < lo || n > hi ? `Value ${value} out of range` : undefined;
    }
    case 'LONG': {
      if (!/^-?\d+$/.test(value)) return `Expected value to be a 64-bit integer, but it was a ${describe(value)}`;
      const n = BigInt(value);
      return n < -(2n ** 63n) || n > 2n ** 63n - 1n ? `Value ${value} out of range` : undefined;
    }
    case 'DOUBLE':
      return value !== '' && Number.isFinite(Number(value)) ? undefined : `Expected value to be a double`;
    default:
      return undefined;
  }
}

function describe(value: string): string {
  return value === '' ? 'empty string' : 'string';
}

export function validateValue(def: ConfigDef, raw: string): string | undefined {
  return checkType(def, raw) ?? def.validate?.(raw.trim());
}

// ---- validators -------------------------------------------------------------------------

export const atLeast =
  (min: number) =>
  (v: string): string | undefined =>
    Number(v) >= min ? undefined : `Value must be at least ${min}`;

export const between =
  (min: number, max: number) =>
  (v: string): string | undefined =>
    Number(v) >= min && Number(v) <= max ? undefined : `Value must be between ${min} and ${max}`;

export const oneOf =
  (...allowed: string[]) =>
  (v: string): string | undefined =>
    allowed.includes(v) ? undefined : `String must be one of: ${allowed.join(', ')}`;

export const listOf =
  (...allowed: string[]) =>
  (v: string): string | undefined => {
    const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = items.find((s) => !allowed.includes(s));
    return bad === undefined ? undefined : `Invalid value ${bad} for configuration: String must be one of: ${allowed.join(', ')}`;
  };
