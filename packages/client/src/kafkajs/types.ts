/**
 * The rest of the type names KafkaJS 2.x exports, so that TypeScript code written against kafkajs
 * compiles after its import changes to '@fjord/client/kafkajs'. The types the facade's own classes
 * use live beside them (kafka.ts, producer.ts, consumer.ts, admin.ts); these describe payloads,
 * events and options by KafkaJS's names. A test compares this module's exports with kafkajs's
 * (test/compat/client-kafkajs-types.test.ts).
 *
 * Some describe what the facade does not offer (SASL and TLS, socket factories, ACLs, partition
 * reassignment, KafkaJS's internal broker object): code that names them compiles, and the features
 * themselves fail with the errors packages/client/README.md lists. The broker object is declared
 * opaque and the cluster (given to partition assigners) with its metadata methods only, so code
 * that calls into the rest does not compile.
 */
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ConfigResourceTypes, ConfigSource, GroupDescription, ResourcePatternTypes } from './admin.js';
import type { EachBatchPayload, EachMessagePayload, KafkaMessage } from './consumer.js';
import type { KafkaJSError, KafkaJSProtocolError } from './errors.js';
import type { InstrumentationEvent } from './events.js';
import type { Logger } from './logger.js';
import type { ICustomPartitioner, PartitionMetadata } from './partitioners.js';
import type { PartitionOffset, ProducerBatch, ProducerRecord, RecordMetadata, TopicOffsets } from './producer.js';

// Helpers KafkaJS's declarations export.
export type Without<T, U> = { [P in Exclude<keyof T, keyof U>]?: never };
/** Exactly one of T and U. */
export type XOR<T, U> = T | U extends object ? (Without<T, U> & U) | (Without<U, T> & T) : T | U;
export type ValueOf<T> = T[keyof T];

// Security options (not supported yet: a Kafka config with `ssl` or `sasl` is refused by name).
export type SASLMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'aws' | 'oauthbearer';
export interface OauthbearerProviderResponse {
  value: string;
}
export interface SASLMechanismOptionsMap {
  plain: { username: string; password: string };
  'scram-sha-256': { username: string; password: string };
  'scram-sha-512': { username: string; password: string };
  aws: { authorizationIdentity: string; accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  oauthbearer: { oauthBearerProvider: () => Promise<OauthbearerProviderResponse> };
}
export type SASLMechanismOptions<T> = T extends SASLMechanism ? { mechanism: T } & SASLMechanismOptionsMap[T] : never;
export type SASLOptions = SASLMechanismOptions<SASLMechanism>;
export interface SaslAuthenticationRequest {
  encode: () => Buffer | Promise<Buffer>;
}
export interface SaslAuthenticationResponse<ParseResult> {
  decode: (rawResponse: Buffer) => Buffer | Promise<Buffer>;
  parse: (data: Buffer) => ParseResult;
}
export interface SaslAuthenticateArgs<ParseResult> {
  request: SaslAuthenticationRequest;
  response?: SaslAuthenticationResponse<ParseResult>;
}
export interface Authenticator {
  authenticate: () => Promise<void>;
}
export interface AuthenticationProviderArgs {
  host: string;
  port: number;
  logger: Logger;
  saslAuthenticate: <ParseResult>(args: SaslAuthenticateArgs<ParseResult>) => Promise<ParseResult | void>;
}
/** A custom SASL mechanism. */
export interface Mechanism {
  mechanism: string;
  authenticationProvider: (args: AuthenticationProviderArgs) => Authenticator;
}
export interface ISocketFactoryArgs {
  host: string;
  port: number;
  ssl: tls.ConnectionOptions;
  onConnect: () => void;
}
export type ISocketFactory = (args: ISocketFactoryArgs) => net.Socket;

// Partitioners.
export type DefaultPartitioner = ICustomPartitioner;
export type LegacyPartitioner = ICustomPartitioner;

// Custom partition assigners (not supported yet: the consumer refuses them by name).
export interface GroupMember {
  memberId: string;
  memberMetadata: Buffer;
}
export interface GroupMemberAssignment {
  memberId: string;
  memberAssignment: Buffer;
}
export interface GroupState {
  name: string;
  metadata: Buffer;
}
export interface Assigner {
  name: string;
  version: number;
  assign(group: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]>;
  protocol(subscription: { topics: string[] }): GroupState;
}

/**
 * The `cluster` a partition assigner factory receives: KafkaJS's metadata methods only. Its
 * broker-level methods (connect, findBroker, findGroupCoordinator, fetchTopicsOffset, ...) are not
 * available, so code that calls them does not compile.
 */
export interface Cluster {
  isConnected(): boolean;
  getNodeIds(): number[];
  metadata(): Promise<BrokerMetadata>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findLeaderForPartitions(topic: string, partitions: number[]): { [leader: string]: number[] };
  defaultOffset(config: { fromBeginning: boolean }): number;
}

/** KafkaJS's internal broker object, which the facade does not expose: opaque here. */
declare const internal: unique symbol;
export interface Broker {
  readonly [internal]: 'KafkaJS broker internals are not available in @fjord/client/kafkajs';
}
export interface ConsumerGroup {
  groupId: string;
  generationId: number;
  memberId: string;
  coordinator: Broker;
}
export interface CoordinatorMetadata {
  errorCode: number;
  coordinator: { nodeId: number; host: string; port: number };
}
export interface BrokerMetadata {
  brokers: Array<{ nodeId: number; host: string; port: number; rack?: string }>;
  topicMetadata: Array<{ topicErrorCode: number; topic: string; partitionMetadata: PartitionMetadata[] }>;
}
export interface ApiVersions {
  [apiKey: number]: { minVersion: number; maxVersion: number };
}
/** What `producer.send` / `sendBatch` and a transaction share. */
export interface Sender {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}
/** The two shapes of a KafkaMessage in KafkaJS: from an old message set, and from a record batch (what Fjord serves). */
export type MessageSetEntry = Omit<KafkaMessage, 'headers'> & { headers?: never };
export type RecordBatchEntry = Omit<KafkaMessage, 'size'> & { size?: never };

// Admin payloads.
export interface ReplicaAssignment {
  partition: number;
  replicas: number[];
}
export interface PartitionReassignment {
  topic: string;
  partitionAssignment: ReplicaAssignment[];
}
export interface ITopicPartitionConfig {
  topic: string;
  count: number;
  assignments?: number[][];
}
export interface ResourceConfigQuery {
  type: ConfigResourceTypes;
  name: string;
  configNames?: string[];
}
export interface IResourceConfigEntry {
  name: string;
  value: string;
}
export interface IResourceConfig {
  type: ConfigResourceTypes;
  name: string;
  configEntries: IResourceConfigEntry[];
}
export interface ConfigSynonyms {
  configName: string;
  configValue: string;
  configSource: ConfigSource;
}
export type FetchOffsetsPartition = PartitionOffset & { metadata: string | null };
/** Kafka's classic group states. */
export type ConsumerGroupState = 'Unknown' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead' | 'Empty';
export interface GroupDescriptions {
  groups: GroupDescription[];
}
export interface GroupOverview {
  groupId: string;
  protocolType: string;
}
export interface DeleteGroupsResult {
  groupId: string;
  errorCode?: number;
  error?: KafkaJSProtocolError;
}
export interface ListPartitionReassignmentsResponse {
  topics: OngoingTopicReassignment[];
}
export interface OngoingTopicReassignment {
  topic: string;
  partitions: OngoingPartitionReassignment[];
}
export interface OngoingPartitionReassignment {
  partitionIndex: number;
  replicas: number[];
  addingReplicas?: number[];
  removingReplicas?: number[];
}

// ACLs (not supported yet: the admin calls reject with KafkaJSNonRetriableError).
export interface Acl {
  principal: string;
  host: string;
  operation: AclOperationTypes;
  permissionType: AclPermissionTypes;
}
export interface AclResource {
  resourceType: AclResourceTypes;
  resourceName: string;
  resourcePatternType: ResourcePatternTypes;
}
export type AclEntry = Acl & AclResource;
export type DescribeAclResource = AclResource & { acls: Acl[] };
export interface DescribeAclResponse {
  throttleTime: number;
  errorCode: number;
  errorMessage?: string;
  resources: DescribeAclResource[];
}
export interface AclFilter {
  resourceType: AclResourceTypes;
  resourceName?: string;
  resourcePatternType: ResourcePatternTypes;
  principal?: string;
  host?: string;
  operation: AclOperationTypes;
  permissionType: AclPermissionTypes;
}
export interface MatchingAcl {
  errorCode: number;
  errorMessage?: string;
  resourceType: AclResourceTypes;
  resourceName: string;
  resourcePatternType: ResourcePatternTypes;
  principal: string;
  host: string;
  operation: AclOperationTypes;
  permissionType: AclPermissionTypes;
}
export interface DeleteAclFilterResponses {
  errorCode: number;
  errorMessage?: string;
  matchingAcls: MatchingAcl[];
}
export interface DeleteAclResponse {
  throttleTime: number;
  filterResponses: DeleteAclFilterResponses[];
}

// Topic-partition shapes.
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}
export interface TopicPartition {
  topic: string;
  partition: number;
}
export type TopicPartitionOffset = TopicPartition & { offset: string };
export type TopicPartitionOffsetAndMetadata = TopicPartitionOffset & { metadata?: string | null };
export interface OffsetsByTopicPartition {
  topics: TopicOffsets[];
}
export type ConsumerEachMessagePayload = EachMessagePayload;
export type ConsumerEachBatchPayload = EachBatchPayload;

// Instrumentation events by KafkaJS's names (the facade emits those its README lists).
export type ConnectEvent = InstrumentationEvent<null>;
export type DisconnectEvent = InstrumentationEvent<null>;
interface RequestTiming {
  apiKey: number;
  apiName: string;
  apiVersion: number;
  broker: string;
  clientId: string;
  correlationId: number;
  createdAt: number;
  pendingDuration: number;
  sentAt: number;
}
export type RequestEvent = InstrumentationEvent<RequestTiming & { duration: number; size: number }>;
export type RequestTimeoutEvent = InstrumentationEvent<RequestTiming>;
export type RequestQueueSizeEvent = InstrumentationEvent<{ broker: string; clientId: string; queueSize: number }>;
export type ConsumerHeartbeatEvent = InstrumentationEvent<{ groupId: string; memberId: string; groupGenerationId: number }>;
export type ConsumerCommitOffsetsEvent = InstrumentationEvent<{ groupId: string; memberId: string; groupGenerationId: number; topics: TopicOffsets[] }>;
/** topic -> partitions */
export interface IMemberAssignment {
  [topic: string]: number[];
}
export type ConsumerGroupJoinEvent = InstrumentationEvent<{
  duration: number;
  groupId: string;
  isLeader: boolean;
  leaderId: string;
  groupProtocol: string;
  memberId: string;
  memberAssignment: IMemberAssignment;
}>;
export type ConsumerFetchStartEvent = InstrumentationEvent<{ nodeId: number }>;
export type ConsumerFetchEvent = InstrumentationEvent<{ numberOfBatches: number; duration: number; nodeId: number }>;
export interface IBatchProcessEvent {
  topic: string;
  partition: number;
  highWatermark: string;
  offsetLag: string;
  offsetLagLow: string;
  batchSize: number;
  firstOffset: string;
  lastOffset: string;
}
export type ConsumerStartBatchProcessEvent = InstrumentationEvent<IBatchProcessEvent>;
export type ConsumerEndBatchProcessEvent = InstrumentationEvent<IBatchProcessEvent & { duration: number }>;
export type ConsumerCrashEvent = InstrumentationEvent<{ error: Error; groupId: string; restart: boolean }>;
export type ConsumerRebalancingEvent = InstrumentationEvent<{ groupId: string; memberId: string }>;
export type ConsumerReceivedUnsubcribedTopicsEvent = InstrumentationEvent<{
  groupId: string;
  generationId: number;
  memberId: string;
  assignedTopics: string[];
  topicsSubscribed: string[];
  topicsNotSubscribed: string[];
}>;

// The errors' constructor arguments.
export interface KafkaJSErrorMetadata {
  retriable?: boolean;
  topic?: string;
  partitionId?: number;
  metadata?: PartitionMetadata;
}
export interface KafkaJSOffsetOutOfRangeMetadata {
  topic: string;
  partition: number;
}
export interface KafkaJSNumberOfRetriesExceededMetadata {
  retryCount: number;
  retryTime: number;
}
export interface KafkaJSConnectionErrorMetadata {
  broker?: string;
  code?: string;
}
export interface KafkaJSRequestTimeoutErrorMetadata {
  broker: string;
  clientId: string;
  correlationId: number;
  createdAt: number;
  sentAt: number;
  pendingDuration: number;
}
export interface KafkaJSTopicMetadataNotLoadedMetadata {
  topic: string;
}
export interface KafkaJSStaleTopicMetadataAssignmentMetadata {
  topic: string;
  unknownPartitions: PartitionMetadata[];
}
export interface KafkaJSServerDoesNotSupportApiKeyMetadata {
  apiKey: number;
  apiName: string;
}
export interface KafkaJSDeleteGroupsErrorGroups {
  groupId: string;
  errorCode: number;
  error: KafkaJSError;
}
export interface KafkaJSDeleteTopicRecordsErrorPartition {
  partition: number;
  offset: string;
  error: KafkaJSError;
}
export interface KafkaJSDeleteTopicRecordsErrorTopic {
  topic: string;
  partitions: KafkaJSDeleteTopicRecordsErrorPartition[];
}
