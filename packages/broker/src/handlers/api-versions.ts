/**
 * ApiVersions (key 18), v0-5. Advertises exactly the handlers in the registry (KIP-35/511), less
 * the ones the configuration turns off (disabledApiKeys).
 * An unsupported request version is answered in registry.unsupportedVersion() with a v0 body and
 * UNSUPPORTED_VERSION, as Kafka does. v3+ validates the client software name and version (KIP-511).
 * No feature flags are advertised yet (transaction.version, group.version come with their issues).
 */
import { ApiVersionsRequest, ApiVersionsResponse, ErrorCode } from '@fjord/protocol';
import { defineHandler } from './handler.js';
import { disabledApiKeys, registry } from './index.js';

const SOFTWARE = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export const apiVersions = defineHandler({
  request: ApiVersionsRequest,
  response: ApiVersionsResponse,
  handle(ctx, req) {
    const bad = ctx.apiVersion >= 3 && (!SOFTWARE.test(req.clientSoftwareName) || !SOFTWARE.test(req.clientSoftwareVersion));
    return {
      errorCode: bad ? ErrorCode.INVALID_REQUEST : ErrorCode.NONE,
      apiKeys: bad ? [] : registry().apiVersions(disabledApiKeys(ctx.broker.config)),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
  },
});
