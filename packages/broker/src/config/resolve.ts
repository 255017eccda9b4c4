/**
 * Effective topic configuration: topic override, then broker static synonyms, then default.
 * The same function feeds the storage layer (effective values) and DescribeConfigs (sources and synonyms).
 */
import { ConfigSource, validateValue } from './config-def.js';
import { brokerConfigByName, layerSource, type BrokerConfig } from './broker-configs.js';
import { topicConfigByName, type TopicConfigDef } from './topic-configs.js';

export interface ConfigSynonymView {
  name: string;
  value: string | null;
  source: number;
}

export interface ResolvedConfig {
  name: string;
  value: string | null;
  source: number;
  synonyms: ConfigSynonymView[];
  def: TopicConfigDef;
}

export function resolveTopicConfig(
  def: TopicConfigDef,
  overrides: Readonly<Record<string, string>>,
  broker: BrokerConfig,
): ResolvedConfig {
  const synonyms: ConfigSynonymView[] = [];
  let value: string | null = null;
  let source: number = ConfigSource.DEFAULT_CONFIG;
  const override = overrides[def.name];
  if (override !== undefined) {
    synonyms.push({ name: def.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    value = override;
    source = ConfigSource.DYNAMIC_TOPIC_CONFIG;
  }
  // For each broker synonym, most specific first: its dynamic, dynamic-default and static values.
  for (const syn of def.synonyms) {
    for (const layer of broker.layers(syn.name)) {
      if (layer.source === 'builtin') continue;
      synonyms.push({ name: syn.name, value: layer.value, source: layerSource[layer.source] });
      if (value === null) {
        value = syn.toTopicValue(layer.value);
        source = layerSource[layer.source];
      }
    }
  }
  // The default is reported under the broker config that carries it (e.g. log.retention.hours=168).
  const defaultSyn = [...def.synonyms].reverse().find((s) => brokerConfigByName.get(s.name)?.default != null);
  if (defaultSyn) {
    const brokerDefault = brokerConfigByName.get(defaultSyn.name)!.default!;
    synonyms.push({ name: defaultSyn.name, value: brokerDefault, source: ConfigSource.DEFAULT_CONFIG });
    if (value === null) value = defaultSyn.toTopicValue(brokerDefault);
  }
  if (value === null) value = def.default;
  return { name: def.name, value, source, synonyms, def };
}

/** Effective value of every topic config, as strings. */
export function effectiveTopicConfig(overrides: Readonly<Record<string, string>>, broker: BrokerConfig): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const def of topicConfigByName.values()) out.set(def.name, resolveTopicConfig(def, overrides, broker).value);
  return out;
}

export interface ConfigProblem {
  name: string;
  message: string;
  /** INVALID_CONFIG (40) for a bad value of a known key, UNKNOWN... handled by the caller. */
  unknown: boolean;
}

/** Validates topic config overrides (names and values); returns the first problem, as Kafka reports one. */
export function validateTopicOverrides(overrides: Readonly<Record<string, string | null>>): ConfigProblem | undefined {
  for (const [name, value] of Object.entries(overrides)) {
    const def = topicConfigByName.get(name);
    if (!def) return { name, message: `Unknown topic config name: ${name}`, unknown: true };
    if (value === null) continue;
    const problem = validateValue(def, value);
    if (problem) return { name, message: `Invalid value ${value} for configuration ${name}: ${problem}`, unknown: false };
  }
  return undefined;
}
