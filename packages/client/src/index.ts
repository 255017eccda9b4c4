/** @fjord/client: Fjord's TypeScript Kafka client. The public surface is exactly what is exported here. */
export { Producer, InvalidRecordError, TransactionStateError } from './producer/producer.js';
export type { ProducerRecord, RecordMetadata, HeaderValue, Bytes } from './producer/producer.js';
export { serializers } from './serializers.js';
export type { Serializer } from './serializers.js';
export type { ProducerConfig, Acks, CompressionName } from './producer/config.js';
export type { Partitioner, PartitionerArgs } from './producer/partitioner.js';
export { Admin } from './admin/admin.js';
export type {
  AdminConfig,
  NewTopic,
  TopicDescription,
  ConfigResource,
  ConfigEntry,
  GroupDescription,
  CommittedOffset,
  OffsetSpec,
  NewPartitions,
  AlterConfigsResource,
  ConfigOperation,
  IncrementalAlterConfigsResource,
  ListOffsetsResult,
  ResetOffsetsTo,
  ResetOffsetsResult,
  PartitionLag,
  DeleteRecordsResult,
  LogDirDescription,
  TransactionListing,
  TransactionDescription,
  ProducerState,
  PartitionProducers,
} from './admin/admin.js';
export type { ClientConfig } from './config.js';
export { clientDefaults, producerDefaults } from './limits.js';
export type { Logger, LogEntry, LogLevel } from './logger.js';
export { KafkaError, ErrorCode, ConfigError, TimeoutError, ConnectionError, ProtocolError, ClosedError, UnsupportedVersionError, isRetriable } from './errors.js';
export type { Connection, SocketFactory, Api } from './connection/connection.js';
export { Consumer } from './consumer/consumer.js';
export type { ConsumerBatch, RebalanceListener, TopicPartition, TopicPartitionOffset } from './consumer/consumer.js';
export type { ConsumerRecord, IsolationLevel } from './consumer/records.js';
export type { ConsumerConfig, AutoOffsetReset } from './consumer/config.js';
export { consumerDefaults } from './consumer/config.js';
export { rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor } from './consumer/assignors.js';
export type { Assignor, AssignorMember, Assignment, RawAssignor, RawAssignorMember } from './consumer/assignors.js';
export { deserializers, DeserializationError } from './consumer/deserializers.js';
export type { Deserializer } from './consumer/deserializers.js';
