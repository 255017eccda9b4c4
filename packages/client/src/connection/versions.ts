/**
 * ApiVersions negotiation: for each API, the highest version both the broker and this client's
 * generated codecs implement. A codec's latest version marked unstable upstream is never used.
 */
import type { ApiInfo } from '@fjord/protocol/core';

export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

/** The client's usable range for an API (its generated codec range without an unstable latest). */
export function clientRange(api: Pick<ApiInfo, 'minVersion' | 'maxVersion' | 'latestVersionUnstable'>): VersionRange {
  return { minVersion: api.minVersion, maxVersion: api.latestVersionUnstable ? api.maxVersion - 1 : api.maxVersion };
}

/** The highest common version, or -1 when the ranges do not overlap. */
export function pickVersion(client: VersionRange, broker: VersionRange): number {
  const v = Math.min(client.maxVersion, broker.maxVersion);
  return v >= Math.max(client.minVersion, broker.minVersion) ? v : -1;
}
