/**
 * @fjord/client/kafkajs: the KafkaJS 2.x API over @fjord/client. A KafkaJS application switches by
 * changing its import; what is covered and what is not is listed in packages/client/README.md.
 */
export { Kafka } from './kafka.js';
export type { KafkaConfig, RetryOptions, BrokersFunction } from './kafka.js';
export { logLevel } from './logger.js';
export type { logCreator, Logger, LogEntryKafkaJS as LogEntry, LoggerEntryContent } from './logger.js';
export { Partitioners } from './partitioners.js';
export type { ICustomPartitioner, PartitionerArgs, PartitionMetadata, Message, IHeaders } from './partitioners.js';
export { CompressionTypes, CompressionCodecs } from './producer.js';
export type { KafkaJSProducer as Producer, ProducerConfig, ProducerRecord, ProducerBatch, TopicMessages, RecordMetadata, Transaction, Offsets, TopicOffsets, PartitionOffset, ProducerEvents } from './producer.js';
export { PartitionAssigners } from './consumer.js';
export type { KafkaJSConsumer as Consumer, ConsumerConfig, ConsumerRunConfig, EachMessagePayload, EachBatchPayload, Batch, KafkaMessage, ConsumerSubscribeTopic, ConsumerSubscribeTopics, PartitionAssigner, EachMessageHandler, EachBatchHandler, ConsumerEvents } from './consumer.js';
export { ConfigResourceTypes, ConfigSource, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } from './admin.js';
export { AssignerProtocol } from './assigner-protocol.js';
export type { MemberMetadata, MemberAssignment, Assignment, ISerializer } from './assigner-protocol.js';
export type { KafkaJSAdmin as Admin, AdminConfig, ITopicConfig, ITopicMetadata, SeekEntry, GroupDescription, MemberDescription, DescribeConfigResponse, ConfigEntries, AdminEvents } from './admin.js';
export type { InstrumentationEvent, RemoveInstrumentationEventListener } from './events.js';
export type * from './types.js';
export {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSOffsetOutOfRange,
  KafkaJSMemberIdRequired,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
  KafkaJSConnectionClosedError,
  KafkaJSRequestTimeoutError,
  KafkaJSMetadataNotLoaded,
  KafkaJSTopicMetadataNotLoaded,
  KafkaJSStaleTopicMetadataAssignment,
  KafkaJSServerDoesNotSupportApiKey,
  KafkaJSBrokerNotFound,
  KafkaJSPartialMessageError,
  KafkaJSSASLAuthenticationError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSTimeout,
  KafkaJSLockTimeout,
  KafkaJSNotImplemented,
  KafkaJSUnsupportedMagicByteInMessageSet,
  KafkaJSDeleteGroupsError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSInvariantViolation,
  KafkaJSInvalidVarIntError,
  KafkaJSInvalidLongError,
  KafkaJSCreateTopicError,
  KafkaJSAlterPartitionReassignmentsError,
  KafkaJSAggregateError,
  KafkaJSFetcherRebalanceError,
  KafkaJSNoBrokerAvailableError,
  isKafkaJSError,
} from './errors.js';
