/**
 * DescribeCluster (key 60), v0-2. The brokers (endpointType 1) or the controllers (2, KIP-919);
 * on one node both are this process. Fenced brokers (v2) do not exist on one node.
 */
import { DescribeClusterRequest, DescribeClusterResponse, ErrorCode } from '@fjord/protocol';
import { CLUSTER_OPERATIONS, OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';
import { defineHandler } from './handler.js';

const BROKERS = 1;
const CONTROLLERS = 2;

export const describeCluster = defineHandler({
  request: DescribeClusterRequest,
  response: DescribeClusterResponse,
  handle(ctx, req) {
    const b = ctx.broker;
    const ep = b.endpoint();
    const endpointType = ctx.apiVersion >= 1 ? req.endpointType : BROKERS;
    if (endpointType !== BROKERS && endpointType !== CONTROLLERS) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Unsupported endpoint type ${endpointType}`,
        endpointType,
        clusterId: b.clusterId,
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
      };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType,
      clusterId: b.clusterId,
      controllerId: b.controllerId(),
      brokers: [{ brokerId: ep.nodeId, host: ep.host, port: ep.port, rack: ep.rack, isFenced: false }],
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : OPERATIONS_NOT_REQUESTED,
    };
  },
});
