/**
 * CreatePartitions (key 37), v0-3. Raises a topic's partition count, optionally with explicit
 * assignments; validateOnly checks only. Lowering or keeping the count is INVALID_PARTITIONS.
 */
import { CreatePartitionsRequest, CreatePartitionsResponse, ErrorCode } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const createPartitions = defineHandler({
  request: CreatePartitionsRequest,
  response: CreatePartitionsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: CreatePartitionsResponse['results'] = [];
    for (const t of req.topics) {
      if ((counts.get(t.name) ?? 0) > 1) {
        results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' });
        continue;
      }
      const assignments = t.assignments ? t.assignments.map((a) => a.brokerIds) : null;
      const res = req.validateOnly ? b.topics.validateCreatePartitions(t.name, t.count, assignments) : await b.topics.createPartitions(t.name, t.count, assignments);
      results.push({ name: t.name, errorCode: res.errorCode, errorMessage: res.errorMessage });
    }
    return { throttleTimeMs: 0, results };
  },
});
