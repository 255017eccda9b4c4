import { ErrorCode } from '@fjord/protocol';

/** Kafka's ConfigResource.Type codes as carried by the config APIs. */
export const ResourceType = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

/**
 * Why a config change to this resource type cannot be made, or undefined for topics.
 * Dynamic broker configs do not exist yet: static ones come from server.properties / --set.
 */
export function alterableResourceProblem(resourceType: number): { errorCode: number; errorMessage: string } | undefined {
  if (resourceType === ResourceType.TOPIC) return undefined;
  if (resourceType === ResourceType.BROKER || resourceType === ResourceType.BROKER_LOGGER)
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'Fjord does not support dynamic broker configs yet; set them in server.properties or with --set',
    };
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${resourceType}` };
}
