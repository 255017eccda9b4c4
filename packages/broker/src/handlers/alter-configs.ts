/**
 * AlterConfigs (key 33), v0-2: replaces ALL overrides of a topic with the given set (Kafka's
 * legacy semantics; IncrementalAlterConfigs patches instead). validateOnly checks only.
 * Brokers: dynamic broker configs are not supported yet; such requests get INVALID_REQUEST with a
 * message saying so (static configs come from server.properties / --set).
 */
import { AlterConfigsRequest, AlterConfigsResponse, ErrorCode } from '@fjord/protocol';
import { alterableResourceProblem } from './resource-type.js';
import { defineHandler } from './handler.js';

export const alterConfigs = defineHandler({
  request: AlterConfigsRequest,
  response: AlterConfigsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const responses: AlterConfigsResponse['responses'] = [];
    for (const r of req.resources) {
      const reply = (errorCode: number, errorMessage: string | null): void => {
        responses.push({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName });
      };
      const problem = alterableResourceProblem(r.resourceType);
      if (problem) {
        reply(problem.errorCode, problem.errorMessage);
        continue;
      }
      const overrides: Record<string, string> = {};
      let nullValue: string | undefined;
      for (const c of r.configs) {
        if (c.value === null) nullValue = c.name;
        else overrides[c.name] = c.value;
      }
      if (nullValue !== undefined) {
        reply(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nullValue}`);
        continue;
      }
      const res = await b.topics.setConfigs(r.resourceName, overrides, req.validateOnly);
      reply(res.errorCode, res.errorMessage);
    }
    return { throttleTimeMs: 0, responses };
  },
});
