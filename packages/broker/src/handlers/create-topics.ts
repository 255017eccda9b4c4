/**
 * CreateTopics (key 19), v0-7 (v0-1 from the 2024 schemas). Partition count and replication
 * factor, or an explicit replica assignment; config overrides validated by name and value;
 * validateOnly (v1+) checks without creating. v5+ answers with the topic's resulting configs,
 * partitions and replication factor; v7+ with the new topic id. A topic named twice in one
 * request gets INVALID_REQUEST, as in Kafka.
 */
import { CreateTopicsRequest, CreateTopicsResponse, ErrorCode, ZERO_UUID } from '@fjord/protocol';
import { describeTopicConfigs } from '../config/describe.js';
import { defineHandler } from './handler.js';

type Result = CreateTopicsResponse['topics'][number];

export const createTopics = defineHandler({
  request: CreateTopicsRequest,
  response: CreateTopicsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const topics: Result[] = [];
    for (const t of req.topics) {
      const base: Result = {
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      };
      topics.push(base);
      if ((counts.get(t.name) ?? 0) > 1) {
        base.errorCode = ErrorCode.INVALID_REQUEST;
        base.errorMessage = 'Create topics request from client contains duplicate topic';
        continue;
      }
      const configs: Record<string, string | null> = {};
      for (const c of t.configs) configs[c.name] = c.value;
      const spec = {
        name: t.name,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: a.brokerIds })),
        configs,
      };
      const res = req.validateOnly ? b.topics.validateCreate(spec) : await b.topics.create(spec);
      base.errorCode = res.errorCode;
      base.errorMessage = res.errorMessage;
      if (res.errorCode !== ErrorCode.NONE) continue;
      base.numPartitions = res.numPartitions;
      base.replicationFactor = res.replicationFactor;
      if (res.topic) base.topicId = res.topic.topicId;
      const overrides = Object.fromEntries(Object.entries(configs).filter((e): e is [string, string] => e[1] !== null));
      base.configs = describeTopicConfigs(overrides, b.config, null, false, false).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        configSource: c.configSource,
        isSensitive: c.isSensitive,
      }));
    }
    return { throttleTimeMs: 0, topics };
  },
});
