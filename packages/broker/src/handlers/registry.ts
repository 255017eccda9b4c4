/**
 * The registry of request handlers. ApiVersions is derived from it: the broker advertises exactly
 * the API keys and version ranges registered here.
 */
import { ApiVersionsResponse, ErrorCode, encodeResponseFrame } from '@fjord/protocol';
import type { Handler } from './handler.js';

export { CLOSE_CONNECTION } from './handler.js';

export class HandlerRegistry {
  private readonly byKey = new Map<number, Handler>();
  private readonly pipelined = new Set<number>();

  constructor(handlers: readonly Handler[], pipelinedKeys: readonly number[] = []) {
    for (const h of handlers) {
      if (this.byKey.has(h.apiKey)) throw new Error(`two handlers for API key ${h.apiKey}`);
      this.byKey.set(h.apiKey, h);
    }
    for (const k of pipelinedKeys) this.pipelined.add(k);
  }

  get(apiKey: number): Handler | undefined {
    return this.byKey.get(apiKey);
  }

  isPipelined(apiKey: number): boolean {
    return this.pipelined.has(apiKey);
  }

  /** What ApiVersions advertises, sorted by key, less the keys the configuration turns off. */
  apiVersions(disabled: ReadonlySet<number> = new Set()): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return [...this.byKey.values()]
      .filter((h) => !disabled.has(h.apiKey))
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  /**
   * The answer to a request version the broker does not serve. Kafka answers an ApiVersions
   * request of any version with a v0 body carrying UNSUPPORTED_VERSION and the supported ranges,
   * so the client can pick a version; any other API gets its connection closed (returns undefined).
   */
  unsupportedVersion(handler: Handler, apiVersion: number, correlationId: number, disabled: ReadonlySet<number> = new Set()): Buffer[] | undefined {
    if (handler.apiKey !== ApiVersionsResponse.apiKey || apiVersion < 0) return undefined;
    return encodeResponseFrame(handler.apiKey, 0, correlationId, ApiVersionsResponse, {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: this.apiVersions(disabled),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    });
  }
}
