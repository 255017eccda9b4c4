/**
 * FindCoordinator (key 10), v0-6 (batched keys from v4, KIP-699).
 *
 * A group's coordinator is the leader of its partition of __consumer_offsets; on one node that is
 * this broker. As in Kafka, the first group lookup creates __consumer_offsets.
 * Key type 2 (KIP-932) locates the share coordinator of a share-partition, keyed
 * "groupId:topicId:partition" (Kafka's SharePartitionKey; a malformed key is INVALID_REQUEST): the
 * leader of its partition of __share_group_state, created on first lookup. Clients find a share
 * group's coordinator with key type 0 like any group.
 * Key type 1 locates a transactional id's coordinator: the leader of its partition of
 * __transaction_state (this broker), created on first lookup as Kafka creates it.
 *
 * Advertising FindCoordinator also matters for producers: librdkafka enables its LZ4 codec only
 * when the broker lists FindCoordinator in ApiVersions.
 */
import { ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse, isUuid } from '@fjord/protocol';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from './handler.js';

const GROUP = 0;
const TRANSACTION = 1;
const SHARE = 2;

interface Answer {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

function locate(b: BrokerContext, key: string, keyType: number): Answer {
  const none = (errorCode: number, errorMessage: string): Answer => ({ errorCode, errorMessage, nodeId: -1, host: '', port: -1 });
  if (keyType === SHARE) {
    const problem = sharePartitionKeyProblem(key);
    if (problem) return none(ErrorCode.INVALID_REQUEST, problem);
    const ep = b.endpoint();
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: ep.nodeId, host: ep.host, port: ep.port };
  }
  if (keyType === TRANSACTION) {
    const ep = b.endpoint();
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: ep.nodeId, host: ep.host, port: ep.port };
  }
  if (keyType !== GROUP) return none(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}`);
  if (key === '') return none(ErrorCode.INVALID_REQUEST, 'The group id must not be empty');
  const ep = b.endpoint();
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: ep.nodeId, host: ep.host, port: ep.port };
}

/** Kafka's SharePartitionKey.validate: "<group>:<topic-id>:<partition>". */
function sharePartitionKeyProblem(key: string): string | undefined {
  if (key === '') return 'Share partition key cannot be empty';
  const tokens = key.split(':');
  if (tokens.length !== 3) return `Invalid key format: expected - <group>:<topic-id>:<partition>, found -  ${key}`;
  const [group, topicId, partition] = tokens as [string, string, string];
  if (group === '' || !isUuid(topicId) || !/^\d+$/.test(partition) || Number(partition) > 0x7fffffff) return `Invalid key format: expected - <group>:<topic-id>:<partition>, found -  ${key}`;
  return undefined;
}

export const findCoordinator = defineHandler({
  request: FindCoordinatorRequest,
  response: FindCoordinatorResponse,
  async handle(ctx, req) {
    const keyType = ctx.apiVersion >= 1 ? req.keyType : GROUP;
    const keys = ctx.apiVersion >= 4 ? req.coordinatorKeys : [req.key];
    // The share-state topic is only created for a well-formed key: bad input changes nothing.
    if (keyType === GROUP || keyType === TRANSACTION || (keyType === SHARE && keys.some((k) => sharePartitionKeyProblem(k) === undefined))) {
      try {
        const b = ctx.broker;
        await (keyType === GROUP ? b.groups.offsetsTopic.ensure() : keyType === TRANSACTION ? b.txn.topic.ensure() : b.groups.share.state.ensureTopic());
      } catch (err) {
        const e = { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: (err as Error).message, nodeId: -1, host: '', port: -1 };
        if (ctx.apiVersion >= 4) return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators: req.coordinatorKeys.map((key) => ({ key, ...e })) };
        return { throttleTimeMs: 0, ...e, coordinators: [] };
      }
    }
    if (ctx.apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        nodeId: -1,
        host: '',
        port: -1,
        coordinators: req.coordinatorKeys.map((key) => ({ key, ...locate(ctx.broker, key, keyType) })),
      };
    }
    return { throttleTimeMs: 0, ...locate(ctx.broker, req.key, keyType), coordinators: [] };
  },
});
