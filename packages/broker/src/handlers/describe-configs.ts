/**
 * DescribeConfigs (key 32), v0-4 (v0 from the 2024 schemas, with isDefault instead of a source).
 * Topics: every topic config with its effective value, its source (topic override, static broker
 * config, default) and, when asked (v1+), the synonym chain; documentation and types (v3+).
 * Brokers: this broker's id: every broker config with its source (dynamic for this broker,
 * dynamic cluster default, static, default); read-only unless Kafka lets it change at run time.
 * "" (the cluster default): only the dynamic defaults that are set, as Kafka answers.
 * Broker loggers: an empty list.
 */
import { DescribeConfigsRequest, DescribeConfigsResponse, ErrorCode } from '@fjord/protocol';
import { describeBrokerConfigs, describeDynamicDefaults, describeTopicConfigs, type ConfigEntryView } from '../config/describe.js';
import { ResourceType } from './resource-type.js';
import { defineHandler } from './handler.js';

type Result = DescribeConfigsResponse['results'][number];

export const describeConfigs = defineHandler({
  request: DescribeConfigsRequest,
  response: DescribeConfigsResponse,
  handle(ctx, req) {
    const b = ctx.broker;
    const synonyms = ctx.apiVersion >= 1 && req.includeSynonyms;
    const docs = ctx.apiVersion >= 3 && req.includeDocumentation;
    const results = req.resources.map((r): Result => {
      const result = (errorCode: number, errorMessage: string | null, configs: ConfigEntryView[] = []): Result => ({
        errorCode,
        errorMessage,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: configs.map((c) => ({ ...c })),
      });
      switch (r.resourceType) {
        case ResourceType.TOPIC: {
          const t = b.metadata.topic(r.resourceName);
          if (!t) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${r.resourceName} does not exist.`);
          return result(ErrorCode.NONE, null, describeTopicConfigs(t.configs, b.config, r.configurationKeys, synonyms, docs));
        }
        case ResourceType.BROKER:
          if (r.resourceName !== '' && r.resourceName !== String(b.nodeId))
            return result(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${b.nodeId} or empty string, but received ${r.resourceName}`);
          if (r.resourceName === '') return result(ErrorCode.NONE, null, describeDynamicDefaults(b.config, r.configurationKeys, synonyms, docs));
          return result(ErrorCode.NONE, null, describeBrokerConfigs(b.config, r.configurationKeys, synonyms, docs));
        case ResourceType.BROKER_LOGGER:
          return result(ErrorCode.NONE, null);
        default:
          return result(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}`);
      }
    });
    return { throttleTimeMs: 0, results };
  },
});
