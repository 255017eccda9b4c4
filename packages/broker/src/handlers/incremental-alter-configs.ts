/**
 * IncrementalAlterConfigs (key 44), v0-1 (KIP-339): SET (0), DELETE (1), APPEND (2) and
 * SUBTRACT (3, list configs only) applied to a topic's current overrides; validateOnly checks
 * only. Unknown names and bad values give INVALID_CONFIG; a key named twice, INVALID_REQUEST.
 * Brokers ("" for the cluster default, or this broker's id): the same operations on the dynamic
 * broker configs; only Kafka's dynamically updatable ones (the log.* topic defaults) are accepted.
 */
import { ErrorCode, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '@fjord/protocol';
import { topicConfigByName } from '../config/topic-configs.js';
import { resolveTopicConfig } from '../config/resolve.js';
import { alterableResourceProblem, ResourceType } from './resource-type.js';
import { brokerConfigByName } from '../config/broker-configs.js';
import { defineHandler } from './handler.js';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

export const incrementalAlterConfigs = defineHandler({
  request: IncrementalAlterConfigsRequest,
  response: IncrementalAlterConfigsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const responses: IncrementalAlterConfigsResponse['responses'] = [];
    for (const r of req.resources) {
      const reply = (errorCode: number, errorMessage: string | null): void => {
        responses.push({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName });
      };
      const unalterable = alterableResourceProblem(r.resourceType);
      if (unalterable) {
        reply(unalterable.errorCode, unalterable.errorMessage);
        continue;
      }
      const isBroker = r.resourceType === ResourceType.BROKER;
      const topic = isBroker ? undefined : b.metadata.topic(r.resourceName);
      if (!isBroker && !topic) {
        reply(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${r.resourceName} does not exist.`);
        continue;
      }
      const names = r.configs.map((c) => c.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup !== undefined) {
        reply(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys : ${dup}`);
        continue;
      }
      const next: Record<string, string> = isBroker ? { ...b.metadata.brokerConfigs(r.resourceName) } : { ...topic!.configs };
      let problem: string | undefined;
      for (const c of r.configs) {
        const def = isBroker ? brokerConfigByName.get(c.name) : topicConfigByName.get(c.name);
        if (!def) {
          problem = `Unknown ${isBroker ? 'broker' : 'topic'} config name: ${c.name}`;
          break;
        }
        if (c.configOperation === SET) {
          if (c.value === null) {
            problem = `Null value not supported for : ${c.name}`;
            break;
          }
          next[c.name] = c.value;
        } else if (c.configOperation === DELETE) {
          delete next[c.name];
        } else if (c.configOperation === APPEND || c.configOperation === SUBTRACT) {
          if (def.type !== 'LIST') {
            problem = `Config value append is not allowed for config key: ${c.name}`;
            break;
          }
          const currentValue = isBroker ? (next[c.name] ?? b.config.get(c.name)) : resolveTopicConfig(topicConfigByName.get(c.name)!, next, b.config).value;
          const current = (currentValue ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
          const items = (c.value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
          const result = c.configOperation === APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
          next[c.name] = result.join(',');
        } else {
          problem = `Unknown config operation ${c.configOperation} for ${c.name}`;
          break;
        }
      }
      if (problem) {
        reply(ErrorCode.INVALID_CONFIG, problem);
        continue;
      }
      const res = isBroker
        ? await b.topics.setBrokerConfigs(r.resourceName, next, req.validateOnly)
        : await b.topics.setConfigs(r.resourceName, next, req.validateOnly);
      reply(res.errorCode, res.errorMessage);
    }
    return { throttleTimeMs: 0, responses };
  },
});
