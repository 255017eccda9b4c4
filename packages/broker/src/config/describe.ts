/** Config descriptions as DescribeConfigs (and CreateTopics v5+) report them. */
import { ConfigSource, ConfigType, type ConfigDef } from './config-def.js';
import { brokerConfigDefs, dynamicBrokerConfigs, layerSource, type BrokerConfig } from './broker-configs.js';
import { resolveTopicConfig } from './resolve.js';
import { topicConfigDefs } from './topic-configs.js';

export interface ConfigEntryView {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  isDefault: boolean;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
  configType: number;
  documentation: string | null;
}

const wanted = (keys: readonly string[] | null, name: string): boolean => keys === null || keys.includes(name);

export function describeTopicConfigs(
  overrides: Readonly<Record<string, string>>,
  broker: BrokerConfig,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): ConfigEntryView[] {
  const out: ConfigEntryView[] = [];
  for (const def of topicConfigDefs) {
    if (!wanted(keys, def.name)) continue;
    const r = resolveTopicConfig(def, overrides, broker);
    out.push({
      name: def.name,
      value: def.sensitive ? null : r.value,
      readOnly: false,
      configSource: r.source,
      isSensitive: def.sensitive ?? false,
      isDefault: r.source === ConfigSource.DEFAULT_CONFIG,
      synonyms: includeSynonyms ? r.synonyms : [],
      configType: ConfigType[def.type],
      documentation: includeDocumentation ? def.doc : null,
    });
  }
  return out;
}

export function describeBrokerConfigs(
  broker: BrokerConfig,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): ConfigEntryView[] {
  const out: ConfigEntryView[] = [];
  const entry = (def: ConfigDef): void => {
    const layers = broker.layers(def.name);
    const top = layers[0];
    const source = top ? layerSource[top.source] : ConfigSource.DEFAULT_CONFIG;
    out.push({
      name: def.name,
      value: def.sensitive ? null : (top?.value ?? null),
      readOnly: !dynamicBrokerConfigs.has(def.name),
      configSource: source,
      isSensitive: def.sensitive ?? false,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      synonyms: includeSynonyms ? layers.map((l) => ({ name: def.name, value: l.value, source: layerSource[l.source] })) : [],
      configType: ConfigType[def.type],
      documentation: includeDocumentation ? def.doc : null,
    });
  };
  for (const def of brokerConfigDefs) if (wanted(keys, def.name)) entry(def);
  return out;
}

/** The cluster-wide default broker resource (name ""): only the dynamic defaults set, as Kafka answers. */
export function describeDynamicDefaults(
  broker: BrokerConfig,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): ConfigEntryView[] {
  const out: ConfigEntryView[] = [];
  for (const def of brokerConfigDefs) {
    const value = broker.dynamic('default', def.name);
    if (value === undefined || !wanted(keys, def.name)) continue;
    const source = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG;
    out.push({
      name: def.name,
      value: def.sensitive ? null : value,
      readOnly: false,
      configSource: source,
      isSensitive: def.sensitive ?? false,
      isDefault: false,
      synonyms: includeSynonyms ? [{ name: def.name, value, source }] : [],
      configType: ConfigType[def.type],
      documentation: includeDocumentation ? def.doc : null,
    });
  }
  return out;
}
