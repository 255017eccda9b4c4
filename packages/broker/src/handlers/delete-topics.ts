/**
 * DeleteTopics (key 20), v0-6 (v0 from the 2024 schemas). By name, or by topic id (v6+,
 * KIP-516). The metadata record goes first, then the partition directories. Unknown names give
 * UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID; delete.topic.enable=false gives
 * TOPIC_DELETION_DISABLED.
 */
import { DeleteTopicsRequest, DeleteTopicsResponse, ErrorCode, ZERO_UUID } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const deleteTopics = defineHandler({
  request: DeleteTopicsRequest,
  response: DeleteTopicsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const targets: Array<{ name: string | null; topicId: string }> =
      ctx.apiVersion >= 6 ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId })) : req.topicNames.map((n) => ({ name: n, topicId: ZERO_UUID }));
    const responses: DeleteTopicsResponse['responses'] = [];
    for (const t of targets) {
      const byId = t.name === null || t.name === undefined;
      const state = byId ? b.metadata.topicById(t.topicId) : b.metadata.topic(t.name!);
      if (!state) {
        responses.push({
          name: t.name,
          topicId: t.topicId,
          errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: null,
        });
        continue;
      }
      // Fetch sessions keep the topic's partitions: their next fetch answers UNKNOWN_TOPIC_OR_PARTITION
      // (or UNKNOWN_TOPIC_ID), which sends the client to refresh its metadata, as Kafka does.
      const res = await b.topics.delete(state.name);
      // Kafka removes the topic's committed offsets from every group with it.
      if (res.errorCode === 0) await b.groups.onTopicDeleted(state.name);
      responses.push({ name: state.name, topicId: state.topicId, errorCode: res.errorCode, errorMessage: res.errorMessage });
    }
    return { throttleTimeMs: 0, responses };
  },
});
