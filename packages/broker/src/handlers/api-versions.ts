/**
 * ApiVersions (key 18), v0-5. Advertises exactly the handlers in the registry (KIP-35/511), less
 * the ones the configuration turns off (disabledApiKeys).
 * An unsupported request version is answered in registry.unsupportedVersion() with a v0 body and
 * UNSUPPORTED_VERSION, as Kafka does. v3+ validates the client software name and version (KIP-511).
 * Features (KIP-584): transaction.version, whose finalized level tells clients whether to use
 * transactions v2 (KIP-890); it is listed only once that level is finalized, as the versions it
 * needs (EndTxn v5, AddPartitionsToTxn v5, TxnOffsetCommit v5-6) are advertised only then.
 */
import { ApiVersionsRequest, ApiVersionsResponse, ErrorCode } from '@fjord/protocol';
import { TRANSACTION_VERSION_FEATURE, TRANSACTION_VERSION_FINALIZED, TRANSACTION_VERSION_SUPPORTED } from '../txn/transaction-version.js';
import { defineHandler } from './handler.js';
import { disabledApiKeys, registry } from './index.js';

/**
 * The feature fields. Before v4 a supported minimum of 0 is sent as 1 (KAFKA-17011: older Java
 * clients reject 0), as Kafka does.
 */
function features(apiVersion: number): Pick<ApiVersionsResponse, 'supportedFeatures' | 'finalizedFeaturesEpoch' | 'finalizedFeatures'> {
  if (TRANSACTION_VERSION_FINALIZED === 0) return { supportedFeatures: [], finalizedFeaturesEpoch: -1n, finalizedFeatures: [] };
  const { minVersion, maxVersion } = TRANSACTION_VERSION_SUPPORTED;
  return {
    supportedFeatures: [{ name: TRANSACTION_VERSION_FEATURE, minVersion: apiVersion < 4 && minVersion === 0 ? 1 : minVersion, maxVersion }],
    // One node whose levels never change: the epoch stays 0.
    finalizedFeaturesEpoch: 0n,
    finalizedFeatures: [{ name: TRANSACTION_VERSION_FEATURE, minVersionLevel: TRANSACTION_VERSION_FINALIZED, maxVersionLevel: TRANSACTION_VERSION_FINALIZED }],
  };
}

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
      ...features(ctx.apiVersion),
      zkMigrationReady: false,
    };
  },
});
