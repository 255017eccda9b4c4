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
 * Why a config change to this resource type cannot be made, or undefined for topics and brokers.
 * Broker loggers (log4j levels in Kafka) have no equivalent in Fjord.
 */
export function alterableResourceProblem(resourceType: number): { errorCode: number; errorMessage: string } | undefined {
  if (resourceType === ResourceType.TOPIC || resourceType === ResourceType.BROKER) return undefined;
  if (resourceType === ResourceType.BROKER_LOGGER)
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Fjord has no broker loggers to configure' };
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${resourceType}` };
}
