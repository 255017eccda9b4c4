/**
 * KafkaJS's consumer over @fjord/client's Consumer (classic group protocol).
 *
 * How it behaves, as KafkaJS 2.x does:
 * - offsets are "resolved" as handlers finish (after each eachMessage; by resolveOffset and, with
 *   eachBatchAutoResolve, at the end of each eachBatch) and, with autoCommit (default), committed
 *   after every batch, when autoCommitInterval / autoCommitThreshold say so, before partitions are
 *   revoked, before a handler's error is rethrown and on stop. Only resolved offsets are committed.
 * - A partition is fetched again from its first unresolved offset: records a handler did not
 *   resolve (an error, pause(), stop, a batch left unresolved) come again; a seek() wins.
 * - A handler that throws is retried after KafkaJS's backoff (retry: retries, initialRetryTime,
 *   maxRetryTime, factor, multiplier) from the record that failed; when the retries are used up
 *   (or at once for an error with retriable: false, or a TypeError/RangeError/ReferenceError/
 *   SyntaxError) the consumer crashes: it commits what was resolved, leaves the group, emits
 *   consumer.crash { error, groupId, restart } and, for a retriable cause unless
 *   retry.restartOnFailure resolves false, starts again after the retry time.
 * - heartbeat() resolves at once: @fjord/client heartbeats on its own timer, so slow handlers never
 *   cost the membership (KafkaJS needs explicit heartbeats for that).
 * - Partition assigners are KafkaJS's, the built-in round robin included: each runs as a raw
 *   assignor of the group (protocol()'s bytes go into JoinGroup as written; as leader, assign() gets
 *   every member's bytes), so facade and kafkajs members share a group whichever of them leads.
 */
import { Consumer as FjordConsumer, type ConsumerBatch, type TopicPartition } from '../consumer/consumer.js';
import type { ConsumerConfig as FjordConsumerConfig } from '../consumer/config.js';
import type { ConsumerRecord } from '../consumer/records.js';
import type { RawAssignor } from '../consumer/assignors.js';
import { Admin as FjordAdmin, type AdminConfig as AdminConfigFjord } from '../admin/admin.js';
import { ConfigError } from '../errors.js';
import type { LogEntry } from '../logger.js';
import { KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, isKafkaJSError, kafkajsErrors, toKafkaJSError } from './errors.js';
import { Instrumentation, type InstrumentationEvent, type RemoveInstrumentationEventListener } from './events.js';
import { resolveRetry, retryBudgetMs, retryDelayMs, type KafkaContext, type ResolvedRetry, type RetryOptions } from './kafka.js';
import type { Logger } from './logger.js';
import type { IHeaders } from './partitioners.js';
import type { Offsets, TopicOffsets } from './producer.js';
import { toGroupDescription, type GroupDescription } from './admin.js';
import { AssignerProtocol } from './assigner-protocol.js';
import { AssignerCluster } from './cluster.js';
import type { Assigner, Cluster, GroupMemberAssignment, GroupState } from './types.js';

/** KafkaJS's partition assigner factory: called once per consumer, when it is created. */
export type PartitionAssigner = (config: { cluster: Cluster; groupId: string; logger: Logger }) => Assigner;

/**
 * KafkaJS's RoundRobinAssigner: the leader deals the partitions of the topics it subscribes to, topic
 * by topic in its subscription's order, over every member sorted by member id, and members that get
 * nothing are left out (the coordinator gives them an empty assignment). Where the members'
 * subscriptions agree that is exactly KafkaJS's assignment. Where they differ, KafkaJS deals the
 * leader's topics over every member (a member drops what it did not subscribe to, so those
 * partitions go unread) and never assigns a topic only others subscribe to; here each topic that any
 * member subscribes to (the leader's first, then the others by name) is dealt over its subscribers.
 */
const roundRobin: PartitionAssigner = ({ cluster }) => ({
  name: 'RoundRobinAssigner',
  version: 0,
  async assign({ members, topics }) {
    const subscribed = new Map<string, Set<string>>();
    for (const m of members) {
      let theirs: string[] = topics;
      try {
        theirs = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? topics;
      } catch {
        // Metadata this cannot read: the member is taken to subscribe to the leader's topics.
      }
      subscribed.set(m.memberId, new Set(theirs));
    }
    const others = [...new Set([...subscribed.values()].flatMap((set) => [...set]))].filter((t) => !topics.includes(t)).sort();
    const all = [...topics, ...others];
    await cluster.addMultipleTargetTopics(all);
    const ids = members.map((m) => m.memberId).sort();
    const dealt = new Map<string, Record<string, number[]>>();
    let next = 0;
    for (const topic of all) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        // The next member, circularly, that subscribes to the topic.
        for (let k = 0; k < ids.length; k++) {
          const id = ids[(next + k) % ids.length]!;
          if (!subscribed.get(id)!.has(topic)) continue;
          next = (next + k + 1) % ids.length;
          let a = dealt.get(id);
          if (!a) dealt.set(id, (a = Object.create(null) as Record<string, number[]>));
          (a[topic] ??= []).push(partitionId);
          break;
        }
      }
    }
    return [...dealt].map(([memberId, assignment]) => ({ memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }) }));
  },
  protocol({ topics }) {
    return { name: 'RoundRobinAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
export const PartitionAssigners = { roundRobin };

/**
 * A KafkaJS assigner as a @fjord/client raw assignor: its protocol() metadata goes into JoinGroup
 * as written, and as leader it gets every member's metadata as KafkaJS gives it ({ memberId,
 * groupInstanceId, memberMetadata }) and the leader's subscription, after the cluster's metadata
 * has been refreshed, as KafkaJS's leader does.
 */
function rawAssignor(assigner: Assigner, cluster: AssignerCluster): RawAssignor {
  const name = assigner.name;
  return {
    name,
    rebalanceProtocol: 'eager',
    raw: true,
    metadata(topics) {
      let state: GroupState;
      try {
        state = assigner.protocol({ topics: [...topics] });
      } catch (e) {
        throw new AssignerFailure(e);
      }
      if (!Buffer.isBuffer(state?.metadata)) throw new AssignerFailure(new KafkaJSNonRetriableError(`Partition assigner "${name}": protocol() must return { name, metadata: Buffer }`));
      return state.metadata;
    },
    async assign(members, topics) {
      let out: GroupMemberAssignment[];
      try {
        await cluster.refreshMetadataFor(topics);
        out = await assigner.assign({ members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, memberMetadata: m.metadata })), topics: [...topics] });
      } catch (e) {
        throw new AssignerFailure(e);
      }
      if (!Array.isArray(out) || out.some((a) => typeof a?.memberId !== 'string' || !Buffer.isBuffer(a.memberAssignment))) {
        throw new AssignerFailure(new KafkaJSNonRetriableError(`Partition assigner "${name}": assign() must resolve to [{ memberId, memberAssignment: Buffer }]`));
      }
      return out.map((a) => ({ memberId: a.memberId, assignment: a.memberAssignment }));
    },
  };
}

/**
 * What an assigner threw, carried through the group (which does not retry it: retriable is false)
 * to the consumer's loop. There, as in KafkaJS, it crashes the consumer at once with the error itself.
 */
class AssignerFailure extends Error {
  readonly retriable = false;
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error));
  }
}

export interface ConsumerConfig {
  groupId: string;
  partitionAssigners?: PartitionAssigner[];
  metadataMaxAge?: number;
  sessionTimeout?: number;
  rebalanceTimeout?: number;
  heartbeatInterval?: number;
  maxBytesPerPartition?: number;
  minBytes?: number;
  maxBytes?: number;
  maxWaitTimeInMs?: number;
  retry?: RetryOptions & { restartOnFailure?: (err: Error) => Promise<boolean> };
  allowAutoTopicCreation?: boolean;
  maxInFlightRequests?: number;
  readUncommitted?: boolean;
  rackId?: string;
}

export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  attributes: number;
  offset: string;
  headers: IHeaders;
  /** Approximate record size in bytes (key, value and headers). */
  size: number;
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
  isEmpty(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
  offsetLagLow(): string;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

export interface EachBatchPayload {
  batch: Batch;
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  pause(): () => void;
  commitOffsetsIfNecessary(offsets?: Offsets): Promise<void>;
  uncommittedOffsets(): Offsets;
  isRunning(): boolean;
  isStale(): boolean;
}

export type EachBatchHandler = (payload: EachBatchPayload) => Promise<void>;
export type EachMessageHandler = (payload: EachMessagePayload) => Promise<void>;

export interface ConsumerRunConfig {
  autoCommit?: boolean;
  autoCommitInterval?: number | null;
  autoCommitThreshold?: number | null;
  eachBatchAutoResolve?: boolean;
  partitionsConsumedConcurrently?: number;
  eachBatch?: EachBatchHandler;
  eachMessage?: EachMessageHandler;
}

export type ConsumerSubscribeTopic = { topic: string | RegExp; fromBeginning?: boolean };
export type ConsumerSubscribeTopics = { topics: Array<string | RegExp>; fromBeginning?: boolean };

export const consumerEvents = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
} as const;

export type ConsumerEvents = typeof consumerEvents;

const tp = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** One run(): its @fjord/client Consumer, stop signal and loop. */
interface Run {
  fjord: FjordConsumer;
  abort: AbortController;
  loop: Promise<void>;
  joinedAt: number;
  isLeader: boolean;
  protocol: string;
}

interface RunSettings {
  autoCommit: boolean;
  autoCommitInterval: number | null;
  autoCommitThreshold: number | null;
  eachBatchAutoResolve: boolean;
  concurrency: number;
  eachBatch: ConsumerRunConfig['eachBatch'];
  eachMessage: ConsumerRunConfig['eachMessage'];
}

export class KafkaJSConsumer {
  readonly events = consumerEvents;
  private readonly instrumentation: Instrumentation<typeof consumerEvents>;
  private readonly log: Logger;
  private readonly groupId: string;
  private readonly retry: ResolvedRetry;
  private readonly assignors: RawAssignor[];
  /** The `cluster` the partition assigners were given. */
  private readonly cluster: AssignerCluster;
  /** topic -> fromBeginning */
  private readonly subscriptions = new Map<string, boolean>();
  /** For RegExp subscriptions and describeGroup(), made on first use. */
  private admin: FjordAdmin | undefined;
  private adminConfig: AdminConfigFjord | undefined;
  private connected = false;
  private settings: RunSettings | undefined;
  private run_: Run | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Next offset to commit, per partition (KafkaJS's resolved offset + 1). */
  private readonly resolved = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private readonly committed = new Map<string, bigint>();
  private resolvedSinceCommit = 0;
  private lastCommitAt = Date.now();
  /** Bumped by seek(): a batch fetched before it is stale. */
  private readonly seekGeneration = new Map<string, number>();
  /** Seeks for partitions not assigned yet, applied when they are. */
  private readonly pendingSeeks = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private readonly pausedTopics = new Set<string>();
  private readonly pausedPartitions = new Map<string, Set<number>>();
  private failures = 0;
  /** run() was called and stop() not since: a crash may restart the consumer. */
  private wanted = false;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly context: KafkaContext,
    private readonly config: ConsumerConfig,
  ) {
    if (typeof config !== 'object' || config === null) throw new ConfigError('consumer', 'expected an object');
    if (typeof config.groupId !== 'string' || config.groupId === '') throw new ConfigError('groupId', 'Consumer groupId must be a non-empty string.');
    this.groupId = config.groupId;
    this.log = context.rootLogger.namespace('Consumer');
    this.instrumentation = new Instrumentation(consumerEvents, this.log);
    this.retry = resolveRetry(config.retry, context.retry);
    const assigners = config.partitionAssigners ?? [roundRobin];
    if (!Array.isArray(assigners) || assigners.length === 0) throw new ConfigError('partitionAssigners', 'expected a non-empty array');
    this.cluster = new AssignerCluster(() => this.fjordAdmin(), () => this.connected, config.metadataMaxAge ?? 300_000);
    this.assignors = assigners.map((create, i) => {
      if (typeof create !== 'function') throw new ConfigError('partitionAssigners', `entry ${i} is not a partition assigner factory`);
      const a = create({ cluster: this.cluster, groupId: this.groupId, logger: this.log });
      if (typeof a?.name !== 'string' || a.name === '' || typeof a.assign !== 'function' || typeof a.protocol !== 'function') {
        throw new ConfigError('partitionAssigners', `entry ${i} must return { name, version, assign(), protocol() }`);
      }
      return rawAssignor(a, this.cluster);
    });
    if (config.rackId !== undefined) throw new ConfigError('rackId', 'rack-aware fetching (KIP-392) is not supported by @fjord/client yet');
  }

  logger(): Logger {
    return this.log;
  }

  on(eventName: string, listener: (event: InstrumentationEvent<any>) => unknown): RemoveInstrumentationEventListener {
    return this.instrumentation.on(eventName, listener);
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await kafkajsErrors(async () => {
      const base = await this.context.clientConfig('Consumer', this.retry);
      await this.context.probe(base, this.retry); // fails here when no broker answers, as KafkaJS's connect()
      this.adminConfig = { ...base, apiTimeoutMs: this.context.requestTimeout + retryBudgetMs(this.retry) };
    });
    this.connected = true;
    this.instrumentation.emit(consumerEvents.CONNECT, null);
  }

  private fjordAdmin(): FjordAdmin {
    if (!this.adminConfig) throw new KafkaJSNonRetriableError('The consumer is not connected');
    return (this.admin ??= new FjordAdmin(this.adminConfig));
  }

  async disconnect(): Promise<void> {
    await this.stop();
    clearTimeout(this.restartTimer);
    const admin = this.admin;
    this.admin = undefined;
    await admin?.close().catch(() => {});
    if (this.connected) {
      this.connected = false;
      this.instrumentation.emit(consumerEvents.DISCONNECT, null);
    }
  }

  async subscribe(subscription: ConsumerSubscribeTopic | ConsumerSubscribeTopics): Promise<void> {
    if (this.run_) throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running');
    if (typeof subscription !== 'object' || subscription === null) throw new KafkaJSNonRetriableError('Invalid subscription: expected { topics } or { topic }');
    const list = 'topics' in subscription && subscription.topics !== undefined ? subscription.topics : 'topic' in subscription ? [subscription.topic] : [];
    if (!Array.isArray(list) || list.length === 0) throw new KafkaJSNonRetriableError('Invalid subscription: no topics');
    const fromBeginning = subscription.fromBeginning === true;
    for (const t of list) {
      if (typeof t === 'string' && t !== '') this.subscriptions.set(t, fromBeginning);
      else if (t instanceof RegExp) {
        if (!this.connected) await this.connect();
        const names = await kafkajsErrors(() => this.fjordAdmin().listTopics());
        const matched = names.filter((n) => t.test(n));
        this.log.debug('Subscription based on RegExp', { groupId: this.groupId, regexp: String(t), topics: matched });
        for (const n of matched) this.subscriptions.set(n, fromBeginning);
      } else throw new KafkaJSNonRetriableError(`Invalid topic ${String(t)} (${typeof t}), the topic name has to be a String or a RegExp`);
    }
  }

  async run(config: ConsumerRunConfig = {}): Promise<void> {
    if (this.run_ || this.starting) {
      this.log.warn('consumer#run was called, but the consumer is already running', { groupId: this.groupId });
      return;
    }
    if (!config.eachMessage && !config.eachBatch) throw new KafkaJSNonRetriableError('Consumer run requires an eachMessage or eachBatch handler');
    if (this.subscriptions.size === 0) throw new KafkaJSNonRetriableError('The consumer has no subscriptions: call subscribe() before run()');
    const concurrency = config.partitionsConsumedConcurrently ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError('partitionsConsumedConcurrently', 'expected an integer >= 1');
    this.settings = {
      autoCommit: config.autoCommit ?? true,
      autoCommitInterval: config.autoCommitInterval ?? null,
      autoCommitThreshold: config.autoCommitThreshold ?? null,
      eachBatchAutoResolve: config.eachBatchAutoResolve ?? true,
      concurrency,
      eachBatch: config.eachBatch,
      eachMessage: config.eachMessage,
    };
    this.wanted = true;
    this.starting = (async () => {
      if (!this.connected) await this.connect();
      await this.start();
    })().finally(() => {
      this.starting = undefined;
    });
    await this.starting;
  }

  /** Joins the group on a new @fjord/client Consumer and starts the loop; resolves after the first assignment (or a bounded wait). */
  private async start(): Promise<void> {
    const c = this.config;
    const topics = [...this.subscriptions.keys()];
    const early = topics.filter((t) => this.subscriptions.get(t)).length;
    let joined!: () => void;
    const joinedP = new Promise<void>((r) => (joined = r));
    const run = {} as Run;
    // The client's log entries that KafkaJS reports as events.
    const tap = (e: LogEntry): void => {
      const f = e.fields;
      if (f?.['component'] === 'consumer-group') {
        if (e.message === 'joined') {
          run.isLeader = f['leader'] === true;
          run.protocol = String(f['protocol'] ?? '');
        } else if (e.message === 'received unsubscribed topics') {
          const { assignedTopics, topicsSubscribed, topicsNotSubscribed } = f;
          this.instrumentation.emit(consumerEvents.RECEIVED_UNSUBSCRIBED_TOPICS, { groupId: this.groupId, generationId: f['generationId'], memberId: f['memberId'], assignedTopics, topicsSubscribed, topicsNotSubscribed });
        } else if (e.message === 'heartbeat') {
          this.instrumentation.emit(consumerEvents.HEARTBEAT, { groupId: this.groupId, memberId: f['memberId'], groupGenerationId: f['generationId'] });
        }
      } else if (f?.['component'] === 'consumer') {
        if (e.message === 'fetch') this.instrumentation.emit(consumerEvents.FETCH_START, { nodeId: String(f['nodeId']) }); // KafkaJS's node ids here are strings
        else if (e.message === 'fetched') this.instrumentation.emit(consumerEvents.FETCH, { numberOfBatches: 0, duration: f['durationMs'], nodeId: String(f['nodeId']) });
      }
    };
    const base = await this.context.clientConfig('Consumer', this.retry, tap);
    const fc: FjordConsumerConfig = {
      ...base,
      groupId: this.groupId,
      enableAutoCommit: false,
      autoOffsetReset: early === topics.length ? 'earliest' : 'latest',
      partitionAssignmentStrategy: this.assignors,
      sessionTimeoutMs: c.sessionTimeout ?? 30_000,
      heartbeatIntervalMs: c.heartbeatInterval ?? 3_000,
      maxPollIntervalMs: c.rebalanceTimeout ?? 60_000,
      maxPartitionFetchBytes: c.maxBytesPerPartition ?? 1_048_576,
      fetchMinBytes: c.minBytes ?? 1,
      fetchMaxBytes: c.maxBytes ?? 10_485_760,
      // KafkaJS's 5 s default; commits and LeaveGroup go over the coordinator connection, not behind the long poll.
      fetchMaxWaitMs: Math.min(c.maxWaitTimeInMs ?? 5_000, this.context.requestTimeout - 1),
      isolationLevel: c.readUncommitted === true ? 'read_uncommitted' : 'read_committed',
      allowAutoTopicCreation: c.allowAutoTopicCreation ?? true,
    };
    if (c.metadataMaxAge !== undefined) fc.metadataMaxAgeMs = c.metadataMaxAge;
    let fjord: FjordConsumer;
    try {
      fjord = new FjordConsumer(fc);
    } catch (e) {
      throw toKafkaJSError(e);
    }
    Object.assign(run, { fjord, abort: new AbortController(), joinedAt: Date.now(), isLeader: false, protocol: '' });
    this.run_ = run;
    fjord.subscribe(topics, {
      onPartitionsAssigned: async (added) => {
        await this.onAssigned(run, added, early > 0 && early < topics.length);
        joined();
      },
      onPartitionsRevoked: (ps) => this.onRevoked(run, ps, true),
      onPartitionsLost: (ps) => this.onRevoked(run, ps, false),
    });
    run.loop = this.loop(run);
    // KafkaJS's run() resolves once the member has joined; the loop goes on in the background.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([joinedP, run.loop, new Promise<void>((r) => (timer = setTimeout(r, fc.maxPollIntervalMs! + fc.sessionTimeoutMs!)))]);
    clearTimeout(timer);
  }

  private async onAssigned(run: Run, added: TopicPartition[], mixedFromBeginning: boolean): Promise<void> {
    const fjord = run.fjord;
    if (mixedFromBeginning) {
      // One auto.offset.reset per Consumer: topics subscribed fromBeginning start at the beginning when the group has no offset.
      const early = added.filter((p) => this.subscriptions.get(p.topic));
      if (early.length > 0) {
        const committed = await fjord.committed(early).catch(() => []);
        fjord.seekToBeginning(committed.filter((o) => o.offset < 0n).map(({ topic, partition }) => ({ topic, partition })));
      }
    }
    for (const p of added) {
      const k = tp(p.topic, p.partition);
      const seek = this.pendingSeeks.get(k);
      if (seek) {
        this.pendingSeeks.delete(k);
        this.applySeek(fjord, seek.topic, seek.partition, seek.offset);
      }
      if (this.isPaused(p.topic, p.partition)) fjord.pause([p]);
    }
    const memberAssignment: Record<string, number[]> = {};
    for (const a of fjord.assignment()) (memberAssignment[a.topic] ??= []).push(a.partition);
    for (const list of Object.values(memberAssignment)) list.sort((a, b) => a - b);
    const meta = fjord.groupMetadata();
    this.instrumentation.emit(consumerEvents.GROUP_JOIN, {
      duration: Date.now() - run.joinedAt,
      groupId: this.groupId,
      isLeader: run.isLeader,
      leaderId: run.isLeader ? meta?.memberId : undefined,
      groupProtocol: run.protocol,
      memberId: meta?.memberId ?? '',
      memberAssignment,
    });
  }

  private async onRevoked(run: Run, partitions: TopicPartition[], commit: boolean): Promise<void> {
    // Leaving on stop/crash also revokes; that is no rebalance, and shutdown() has committed already.
    if (run.abort.signal.aborted) return;
    const meta = run.fjord.groupMetadata();
    this.instrumentation.emit(consumerEvents.REBALANCING, { groupId: this.groupId, memberId: meta?.memberId ?? '' });
    if (commit && this.settings?.autoCommit) await this.commitResolved(run, partitions).catch((e: Error) => this.log.warn('Commit before revocation failed', { groupId: this.groupId, error: e.message }));
    for (const p of partitions) {
      const k = tp(p.topic, p.partition);
      this.resolved.delete(k);
      this.committed.delete(k);
    }
    run.joinedAt = Date.now();
  }

  /** Pulls batches and hands them to the handlers until stopped or a handler fails; retries and crashes as KafkaJS. */
  private async loop(run: Run): Promise<void> {
    for (;;) {
      const error = await this.consume(run);
      if (error === undefined || run.abort.signal.aborted) return;
      if (error instanceof AssignerFailure) {
        // KafkaJS's join fails without a retry; the consumer restarts only for a retriable error.
        const e = error.error instanceof Error ? error.error : new KafkaJSError(String(error.error));
        await this.crash(run, e, e.name === 'KafkaJSNumberOfRetriesExceeded' || rootCause(e)?.retriable === true);
        return;
      }
      const cause = toKafkaJSError(error);
      const retriable = isRetriableForKafkaJS(cause);
      if (retriable && this.failures < this.retry.retries) {
        const wait = retryDelayMs(this.retry, this.failures);
        this.failures++;
        this.log.debug('Error while consuming, trying again...', { groupId: this.groupId, error: cause.message, retryCount: this.failures, retryTime: wait });
        await abortableSleep(wait, run.abort.signal);
        continue;
      }
      // As KafkaJS's retrier: exhausted retries, or a non-retriable error wrapped as such.
      const crash = retriable ? new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: this.failures, retryTime: retryDelayMs(this.retry, this.failures) }) : new KafkaJSNonRetriableError(error instanceof Error ? error : cause, { cause: error });
      this.failures = 0;
      await this.crash(run, crash, retriable || rootCause(cause)?.retriable === true);
      return;
    }
  }

  /** One stretch of consumption; resolves with the first error (undefined when stopped). */
  private async consume(run: Run): Promise<unknown> {
    const s = this.settings!;
    const signal = run.abort.signal;
    const chains = new Map<string, Promise<void>>();
    const inFlight = new Set<Promise<void>>();
    let error: unknown;
    try {
      const it = run.fjord.batches({ signal });
      while (error === undefined && !signal.aborted) {
        const r = await it.next();
        if (r.done) break;
        const b = r.value;
        const k = tp(b.topic, b.partition);
        const p = (chains.get(k) ?? Promise.resolve())
          .then(async () => {
            if (error !== undefined || signal.aborted) return this.rewind(run, b.topic, b.partition, b.records[0]!.offset, b);
            await this.processBatch(run, b);
            this.failures = 0;
          })
          .catch((e: unknown) => {
            error ??= e;
          });
        chains.set(k, p);
        inFlight.add(p);
        void p.finally(() => {
          inFlight.delete(p);
          if (chains.get(k) === p) chains.delete(k);
        });
        while (inFlight.size >= s.concurrency) await Promise.race(inFlight);
      }
    } catch (e) {
      error ??= e;
    }
    await Promise.all(inFlight);
    return error;
  }

  private async processBatch(run: Run, b: ConsumerBatch): Promise<void> {
    const s = this.settings!;
    const { topic, partition } = b;
    const k = tp(topic, partition);
    const generation = this.seekGeneration.get(k) ?? 0;
    const isStale = (): boolean => (this.seekGeneration.get(k) ?? 0) !== generation;
    const isRunning = (): boolean => this.run_ === run && !run.abort.signal.aborted;
    const messages = b.records.map(toKafkaMessage);
    const batch = toBatch(b, messages);
    const first = b.records[0]!.offset;
    const last = b.records.at(-1)!.offset;
    const pause = (): (() => void) => {
      this.pause([{ topic, partitions: [partition] }]);
      return () => this.resume([{ topic, partitions: [partition] }]);
    };
    const heartbeat = async (): Promise<void> => {};
    const startedAt = Date.now();
    const info = { topic, partition, highWatermark: batch.highWatermark, offsetLag: batch.offsetLag(), offsetLagLow: batch.offsetLagLow(), batchSize: messages.length, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset() };
    this.instrumentation.emit(consumerEvents.START_BATCH_PROCESS, info);
    try {
      if (s.eachMessage) {
        for (let i = 0; i < messages.length; i++) {
          if (!isRunning() || isStale()) break;
          try {
            await s.eachMessage({ topic, partition, message: messages[i]!, heartbeat, pause });
          } catch (e) {
            if (!isKafkaJSError(e)) this.log.error('Error when calling eachMessage', { topic, partition, offset: messages[i]!.offset, stack: (e as Error)?.stack, error: e });
            throw e;
          }
          this.resolveOffset(topic, partition, b.records[i]!.offset);
          await this.commitIfNecessary(run);
          if (this.isPaused(topic, partition)) break;
        }
      } else {
        try {
          await s.eachBatch!({
            batch,
            resolveOffset: (offset) => this.resolveOffset(topic, partition, BigInt(offset)),
            heartbeat,
            pause,
            commitOffsetsIfNecessary: async (offsets) => (offsets ? this.commitOffsets(offsetsToList(offsets)) : this.commitIfNecessary(run)),
            uncommittedOffsets: () => this.uncommittedOffsets(),
            isRunning,
            isStale,
          });
        } catch (e) {
          if (!isKafkaJSError(e)) this.log.error('Error when calling eachBatch', { topic, partition, offset: batch.firstOffset(), stack: (e as Error)?.stack, error: e });
          throw e;
        }
        if (s.eachBatchAutoResolve && !isStale()) this.resolveOffset(topic, partition, last);
      }
    } catch (e) {
      // KafkaJS commits what was resolved before the error goes on.
      if (s.autoCommit) await this.commitResolved(run).catch((ce: Error) => this.log.warn('Commit after a handler error failed', { error: ce.message }));
      if (!isStale()) this.rewind(run, topic, partition, first, b);
      throw e;
    }
    if (!isStale()) this.rewind(run, topic, partition, first, b);
    this.instrumentation.emit(consumerEvents.END_BATCH_PROCESS, { ...info, duration: Date.now() - startedAt });
    if (s.autoCommit) await this.commitResolved(run).catch((e: Error) => this.log.warn('Auto commit failed', { groupId: this.groupId, error: e.message }));
  }

  /** After a batch: fetch again from the first record the handlers did not resolve, if any. */
  private rewind(run: Run, topic: string, partition: number, first: bigint, b: ConsumerBatch): void {
    const resolved = this.resolved.get(tp(topic, partition))?.offset;
    const from = resolved !== undefined && resolved > first ? resolved : first;
    const end = b.records.at(-1)!.offset + 1n;
    if (from >= end || run.abort.signal.aborted) return;
    try {
      run.fjord.seek({ topic, partition, offset: from });
    } catch {
      /* no longer assigned: its next owner starts from the committed offset */
    }
  }

  private resolveOffset(topic: string, partition: number, offset: bigint): void {
    this.resolved.set(tp(topic, partition), { topic, partition, offset: offset + 1n });
    this.resolvedSinceCommit++;
  }

  private async commitIfNecessary(run: Run): Promise<void> {
    const s = this.settings;
    if (!s?.autoCommit) return;
    const intervalDue = s.autoCommitInterval !== null && Date.now() >= this.lastCommitAt + s.autoCommitInterval;
    const thresholdDue = s.autoCommitThreshold !== null && this.resolvedSinceCommit >= s.autoCommitThreshold;
    if (intervalDue || thresholdDue) await this.commitResolved(run).catch((e: Error) => this.log.warn('Auto commit failed', { groupId: this.groupId, error: e.message }));
  }

  /** Commits resolved offsets that changed (all, or those of `only`). */
  private async commitResolved(run: Run, only?: TopicPartition[]): Promise<void> {
    const keys = only && new Set(only.map((p) => tp(p.topic, p.partition)));
    const list = [...this.resolved].filter(([k, o]) => (!keys || keys.has(k)) && this.committed.get(k) !== o.offset).map(([, o]) => o);
    if (list.length === 0) return;
    await this.commitList(run, list);
  }

  private async commitList(run: Run, list: Array<{ topic: string; partition: number; offset: bigint; metadata?: string | null }>): Promise<void> {
    await run.fjord.commit(list);
    for (const o of list) this.committed.set(tp(o.topic, o.partition), o.offset);
    this.lastCommitAt = Date.now();
    this.resolvedSinceCommit = 0;
    const meta = run.fjord.groupMetadata();
    this.instrumentation.emit(consumerEvents.COMMIT_OFFSETS, { groupId: this.groupId, memberId: meta?.memberId ?? '', groupGenerationId: meta?.generationId ?? -1, topics: toTopicOffsets(list) });
  }

  private uncommittedOffsets(): Offsets {
    const list = [...this.resolved].filter(([k, o]) => this.committed.get(k) !== o.offset).map(([, o]) => o);
    return { topics: toTopicOffsets(list) };
  }

  /** Commits these offsets (the next offset to read, as a string) for the group; needs run(). */
  async commitOffsets(topicPartitions: Array<{ topic: string; partition: number; offset: string; metadata?: string | null }>): Promise<void> {
    const run = this.run_;
    if (!run) throw new KafkaJSNonRetriableError('Consumer group was not initialized, consumer#run must be called first');
    if (!Array.isArray(topicPartitions)) throw new KafkaJSNonRetriableError('commitOffsets expects an array of { topic, partition, offset }');
    const list = topicPartitions.map((o) => {
      if (typeof o?.topic !== 'string' || !Number.isInteger(o.partition)) throw new KafkaJSNonRetriableError(`Invalid offset to commit: ${JSON.stringify(o)}`);
      let offset: bigint;
      try {
        offset = BigInt(o.offset);
      } catch {
        throw new KafkaJSNonRetriableError(`Invalid offset ${JSON.stringify(o.offset)}: expected an integer string`);
      }
      return { topic: o.topic, partition: o.partition, offset, metadata: o.metadata ?? null };
    });
    await kafkajsErrors(() => this.commitList(run, list));
  }

  /** Moves a partition: the next batch starts at `offset`; with autoCommit the offset is committed too, as KafkaJS does. */
  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }): void {
    const run = this.run_;
    if (!run) throw new KafkaJSNonRetriableError('Consumer group was not initialized, consumer#run must be called first');
    if (typeof topic !== 'string' || !Number.isInteger(partition)) throw new KafkaJSNonRetriableError(`Invalid topic-partition ${JSON.stringify({ topic, partition })}`);
    let o: bigint;
    try {
      o = BigInt(offset);
    } catch {
      throw new KafkaJSNonRetriableError(`Offset must not be a negative number or a non-number: ${JSON.stringify(offset)}`);
    }
    if (o < 0n) throw new KafkaJSNonRetriableError(`Offset must not be a negative number: ${offset}`);
    const k = tp(topic, partition);
    this.seekGeneration.set(k, (this.seekGeneration.get(k) ?? 0) + 1);
    if (!run.fjord.assignment().some((a) => a.topic === topic && a.partition === partition)) {
      this.pendingSeeks.set(k, { topic, partition, offset: o });
      return;
    }
    this.applySeek(run.fjord, topic, partition, o);
  }

  private applySeek(fjord: FjordConsumer, topic: string, partition: number, offset: bigint): void {
    const k = tp(topic, partition);
    fjord.seek({ topic, partition, offset });
    this.resolved.set(k, { topic, partition, offset });
    const run = this.run_;
    if (this.settings?.autoCommit && run) {
      this.commitList(run, [{ topic, partition, offset }]).catch((e: Error) => this.log.warn('Commit of a seek failed', { topic, partition, offset: String(offset), error: e.message }));
    }
  }

  pause(topics: Array<{ topic: string; partitions?: number[] }>): void {
    for (const { topic, partitions } of checkTopics(topics, 'pause')) {
      if (partitions === undefined) this.pausedTopics.add(topic);
      else {
        let set = this.pausedPartitions.get(topic);
        if (!set) this.pausedPartitions.set(topic, (set = new Set()));
        for (const p of partitions) set.add(p);
      }
      this.applyPause(topic, partitions, true);
    }
  }

  resume(topics: Array<{ topic: string; partitions?: number[] }>): void {
    for (const { topic, partitions } of checkTopics(topics, 'resume')) {
      if (partitions === undefined) {
        this.pausedTopics.delete(topic);
        this.pausedPartitions.delete(topic);
      } else {
        if (this.pausedTopics.delete(topic)) {
          // The whole topic was paused: the other partitions stay paused.
          const rest = (this.run_?.fjord.assignment() ?? []).filter((a) => a.topic === topic).map((a) => a.partition);
          this.pausedPartitions.set(topic, new Set(rest));
        }
        const set = this.pausedPartitions.get(topic);
        for (const p of partitions) set?.delete(p);
      }
      this.applyPause(topic, partitions, false);
    }
  }

  paused(): Array<{ topic: string; partitions: number[] }> {
    const out = new Map<string, Set<number>>();
    const assigned = this.run_?.fjord.assignment() ?? [];
    for (const t of this.pausedTopics) out.set(t, new Set(assigned.filter((a) => a.topic === t).map((a) => a.partition)));
    for (const [t, set] of this.pausedPartitions) for (const p of set) (out.get(t) ?? out.set(t, new Set()).get(t)!).add(p);
    return [...out].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
  }

  private isPaused(topic: string, partition: number): boolean {
    return this.pausedTopics.has(topic) || (this.pausedPartitions.get(topic)?.has(partition) ?? false);
  }

  private applyPause(topic: string, partitions: number[] | undefined, pause: boolean): void {
    const fjord = this.run_?.fjord;
    if (!fjord) return;
    const targets = fjord.assignment().filter((a) => a.topic === topic && (partitions === undefined || partitions.includes(a.partition)));
    if (targets.length === 0) return;
    if (pause) fjord.pause(targets);
    else fjord.resume(targets.filter((a) => !this.isPaused(a.topic, a.partition)));
  }

  async describeGroup(): Promise<GroupDescription> {
    if (!this.connected) await this.connect();
    const [g] = await kafkajsErrors(() => this.fjordAdmin().describeGroups([this.groupId]));
    return toGroupDescription(g!);
  }

  /** Stops consuming: waits for the handler in progress, commits what was resolved, leaves the group. */
  async stop(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    this.run_?.abort.abort(); // also ends a start() still waiting for its first assignment
    await this.starting?.catch(() => {});
    const run = this.run_;
    if (!run) return;
    run.abort.abort();
    await run.loop.catch(() => {});
    await this.shutdown(run, true);
    this.instrumentation.emit(consumerEvents.STOP, null);
  }

  private async shutdown(run: Run, commit: boolean): Promise<void> {
    if (this.run_ === run) this.run_ = undefined;
    if (commit && this.settings?.autoCommit) await this.commitResolved(run).catch((e: Error) => this.log.warn('Commit on stop failed', { groupId: this.groupId, error: e.message }));
    await run.fjord.close().catch((e: Error) => this.log.warn('Leaving the group failed', { groupId: this.groupId, error: e.message }));
    this.resolved.clear();
    this.committed.clear();
    this.pendingSeeks.clear();
  }

  private async crash(run: Run, error: KafkaJSError | Error, retriable: boolean): Promise<void> {
    this.log.error(`Crash: ${error.name}: ${error.message}`, { groupId: this.groupId, retryCount: (error as { retryCount?: number }).retryCount, stack: error.stack });
    run.abort.abort();
    await this.shutdown(run, true);
    let restart = retriable;
    if (restart && this.retry.restartOnFailure) {
      restart = await this.retry.restartOnFailure(error).then(
        (v) => v !== false,
        (e: Error) => {
          this.log.error('Caught error when invoking user-provided "restartOnFailure" callback. Defaulting to restarting.', { error: e?.message, cause: error.message, groupId: this.groupId });
          return true;
        },
      );
    }
    this.instrumentation.emit(consumerEvents.CRASH, { error, groupId: this.groupId, restart });
    if (!restart || !this.wanted) return;
    const retryTime = (error as { retryTime?: number }).retryTime ?? this.retry.initialRetryTime;
    this.log.error(`Restarting the consumer in ${retryTime}ms`, { groupId: this.groupId, retryTime });
    this.restartTimer = setTimeout(() => {
      if (this.run_ || this.starting || !this.settings || !this.wanted) return;
      const starting = this.start().finally(() => {
        if (this.starting === starting) this.starting = undefined;
      });
      this.starting = starting;
      starting.catch((e: Error) => this.log.error('Restart failed', { groupId: this.groupId, error: e.message }));
    }, retryTime);
  }
}

/** KafkaJS's retrier: an error is retried unless it says retriable: false or is a programming error. */
function isRetriableForKafkaJS(e: Error): boolean {
  if (['RangeError', 'ReferenceError', 'SyntaxError', 'TypeError'].includes(e.name)) return false;
  return (e as { retriable?: unknown }).retriable !== false;
}

function rootCause(e: unknown): { retriable?: unknown } | undefined {
  let x = e as { cause?: unknown; retriable?: unknown } | undefined;
  for (let i = 0; i < 10 && x?.cause !== undefined && x.cause !== null; i++) x = x.cause as typeof x;
  return x;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function checkTopics(topics: Array<{ topic: string; partitions?: number[] }>, what: string): Array<{ topic: string; partitions?: number[] }> {
  if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError(`${what} expects an array of { topic, partitions? }`);
  for (const t of topics) {
    if (typeof t?.topic !== 'string') throw new KafkaJSNonRetriableError(`Invalid topic ${JSON.stringify(t?.topic)} for ${what}`);
    if (t.partitions !== undefined && (!Array.isArray(t.partitions) || t.partitions.some((p) => !Number.isInteger(p)))) throw new KafkaJSNonRetriableError(`Invalid partitions for ${what} of topic ${t.topic}`);
  }
  return topics;
}

function toKafkaMessage(r: ConsumerRecord): KafkaMessage {
  const headers: IHeaders = {};
  let size = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const [name, v] of r.headers) {
    size += name.length + (v?.length ?? 0);
    const value = v ?? (null as unknown as Buffer);
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { key: r.key, value: r.value, timestamp: String(r.timestamp), attributes: 0, offset: String(r.offset), headers, size };
}

function toBatch(b: ConsumerBatch, messages: KafkaMessage[]): Batch {
  const hw = b.highWatermark;
  const first = messages[0]?.offset ?? null;
  const last = (): string => messages.at(-1)?.offset ?? String(hw - 1n);
  return {
    topic: b.topic,
    partition: b.partition,
    highWatermark: String(hw),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => first,
    lastOffset: last,
    offsetLag: () => String(maxBig(0n, hw - 1n - BigInt(last()))),
    offsetLagLow: () => String(maxBig(0n, hw - 1n - BigInt(first ?? last()))),
  };
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function toTopicOffsets(list: Array<{ topic: string; partition: number; offset: bigint }>): TopicOffsets[] {
  const by = new Map<string, TopicOffsets>();
  for (const o of list) {
    let t = by.get(o.topic);
    if (!t) by.set(o.topic, (t = { topic: o.topic, partitions: [] }));
    t.partitions.push({ partition: o.partition, offset: String(o.offset) });
  }
  return [...by.values()];
}

function offsetsToList(offsets: Offsets): Array<{ topic: string; partition: number; offset: string }> {
  return (offsets.topics ?? []).flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset })));
}
