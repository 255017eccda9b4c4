/**
 * AlterConfigs (key 33), v0-2: replaces ALL overrides of a topic, or all dynamic configs of a
 * broker ("" for the cluster-wide default, or this broker's id), with the given set (Kafka's legacy
 * semantics; IncrementalAlterConfigs patches instead). validateOnly checks only. Only Kafka's
 * dynamically updatable broker configs may be set this way (the log.* defaults of topic configs);
 * others get INVALID_REQUEST naming them. Broker loggers are not supported.
 */
import { AlterConfigsRequest, AlterConfigsResponse, ErrorCode } from '@fjord/protocol';
import { alterableResourceProblem, ResourceType } from './resource-type.js';
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
      const res =
        r.resourceType === ResourceType.BROKER
          ? await b.topics.setBrokerConfigs(r.resourceName, overrides, req.validateOnly)
          : await b.topics.setConfigs(r.resourceName, overrides, req.validateOnly);
      reply(res.errorCode, res.errorMessage);
    }
    return { throttleTimeMs: 0, responses };
  },
});
