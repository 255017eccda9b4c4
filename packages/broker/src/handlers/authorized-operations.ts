/**
 * Authorized-operations bit sets reported when a client asks for them (KIP-430). Until ACLs exist
 * every operation is allowed, so these are the full sets for each resource type.
 * Bit n stands for AclOperation code n: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8,
 * CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12, CREATE_TOKENS 13,
 * DESCRIBE_TOKENS 14.
 */
const bits = (...ops: number[]): number => ops.reduce((acc, op) => acc | (1 << op), 0);

export const TOPIC_OPERATIONS = bits(3, 4, 5, 6, 7, 8, 10, 11);
export const CLUSTER_OPERATIONS = bits(5, 7, 8, 9, 10, 11, 12, 13, 14);
/** Kafka's "not requested" marker: Integer.MIN_VALUE. */
export const OPERATIONS_NOT_REQUESTED = -2147483648;
/** Groups: READ, DELETE, DESCRIBE. */
export const GROUP_OPERATIONS = bits(3, 6, 8);
