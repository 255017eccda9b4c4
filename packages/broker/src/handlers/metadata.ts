/**
 * Metadata (key 3), v0-13. Topics by name, or by id (v10+); null topics (v1+) or an empty list
 * (v0) mean all topics. Unknown topics are created when auto.create.topics.enable is set and the
 * request allows it (always before v4), as Kafka does. Leader epochs (v7+), topic ids (v10+) and
 * authorized operations (v8+, all allowed until ACLs exist) are filled in.
 */
import { ErrorCode, MetadataRequest, MetadataResponse, ZERO_UUID } from '@fjord/protocol';
import type { BrokerContext } from '../broker-context.js';
import type { TopicState } from '../metadata/metadata-store.js';
import { INTERNAL_TOPICS } from '../topics/topic-names.js';
import { CLUSTER_OPERATIONS, OPERATIONS_NOT_REQUESTED, TOPIC_OPERATIONS } from './authorized-operations.js';
import { defineHandler } from './handler.js';

export const metadata = defineHandler({
  request: MetadataRequest,
  response: MetadataResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const includeOps = ctx.apiVersion >= 8 && req.includeTopicAuthorizedOperations;
    const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    const autoCreate = ctx.apiVersion < 4 || req.allowAutoTopicCreation;
    const topics: MetadataResponse['topics'] = [];
    if (all) {
      for (const t of b.metadata.topics()) topics.push(describeTopic(b, t, includeOps));
    } else {
      for (const requested of req.topics!) {
        if (requested.name === null || requested.name === undefined) {
          const t = requested.topicId !== ZERO_UUID ? b.metadata.topicById(requested.topicId) : undefined;
          topics.push(t ? describeTopic(b, t, includeOps) : missing(null, requested.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
          continue;
        }
        const name = requested.name;
        let t = b.metadata.topic(name);
        if (!t && autoCreate && !INTERNAL_TOPICS.has(name)) {
          const code = await b.topics.autoCreate(name);
          if (code !== ErrorCode.NONE) {
            topics.push(missing(name, ZERO_UUID, code));
            continue;
          }
          t = b.metadata.topic(name);
        }
        topics.push(t ? describeTopic(b, t, includeOps) : missing(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
    }
    const ep = b.endpoint();
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: ep.nodeId, host: ep.host, port: ep.port, rack: ep.rack }],
      clusterId: b.clusterId,
      controllerId: b.controllerId(),
      topics,
      clusterAuthorizedOperations: ctx.apiVersion >= 8 && req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : OPERATIONS_NOT_REQUESTED,
      errorCode: ErrorCode.NONE,
    };
  },
});

function describeTopic(b: BrokerContext, t: TopicState, includeOps: boolean): MetadataResponse['topics'][number] {
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: INTERNAL_TOPICS.has(t.name),
    partitions: t.partitions.map((p) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: b.replicas.partition(t.name, p.partition)?.leaderEpoch ?? p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.isr,
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: includeOps ? TOPIC_OPERATIONS : OPERATIONS_NOT_REQUESTED,
  };
}

function missing(name: string | null, topicId: string, errorCode: number): MetadataResponse['topics'][number] {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}
