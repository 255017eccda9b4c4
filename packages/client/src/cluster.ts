/**
 * The cluster as a client sees it: one connection per broker (opened on demand, reopened with
 * exponential backoff and jitter after a failure), bootstrap addresses used until real brokers are
 * known, and the metadata cache (refreshed when it is older than metadataMaxAgeMs, when a request
 * fails with a stale-metadata error, and for newly wanted topics; concurrent refreshes share one
 * request). Producer, admin and (later) consumer all sit on one Cluster.
 */
import { FindCoordinatorRequest } from '@fjord/protocol/generated/find-coordinator.js';
import { MetadataResponse } from '@fjord/protocol/generated/metadata.js';
import type { ResolvedClientConfig, BrokerAddress } from './config.js';
import { Connection, type Api, type RequestOptions } from './connection/connection.js';
import { backoffMs } from './connection/backoff.js';
import { ClosedError, ConnectionError, TimeoutError, kafkaError } from './errors.js';
import type { BrokerInfo, TopicInfo } from './metadata/metadata.js';
import { ErrorCode, type MessageInput } from '@fjord/protocol/core';
import { findCoordinatorApi, metadataApi } from './apis.js';

/** FindCoordinator key types. */
export const CoordinatorType = { group: 0, transaction: 1 } as const;

interface Slot {
  address: BrokerAddress;
  nodeId: number;
  connection: Connection | undefined;
  connecting: Promise<Connection> | undefined;
  failures: number;
  nextAttemptAtMs: number;
}

export interface MetadataSnapshot {
  clusterId: string | null;
  controllerId: number;
  brokers: Map<number, BrokerInfo>;
  topics: Map<string, TopicInfo>;
  /** Topics the last refresh asked for and the broker answered with an error, by error code. */
  topicErrors: Map<string, number>;
  fetchedAtMs: number;
}

export class Cluster {
  private readonly slots = new Map<number, Slot>();
  /**
   * Connections for group coordination, apart from the data connections (as the Java client keeps
   * its coordinator connection apart): a heartbeat or commit never waits behind a long-polling Fetch
   * on the same socket, whose responses come in order.
   */
  private readonly coordinatorSlots = new Map<number, Slot>();
  private readonly bootstrapSlots: Slot[];
  private readonly wanted = new Set<string>();
  private meta: MetadataSnapshot | undefined;
  private refreshing: Promise<MetadataSnapshot> | undefined;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly config: ResolvedClientConfig) {
    this.bootstrapSlots = config.bootstrap.map((address, i) => newSlot(address, -1 - i));
  }

  get metadata(): MetadataSnapshot | undefined {
    return this.meta;
  }

  /** Topics whose metadata every refresh fetches. */
  want(topic: string): void {
    this.wanted.add(topic);
  }

  /**
   * A connection to broker `nodeId` (as known from metadata), opening one if needed. `lane`
   * 'coordinator' is a second connection to the same broker for group coordination.
   */
  async connectionTo(nodeId: number, lane: 'data' | 'coordinator' = 'data'): Promise<Connection> {
    const slots = lane === 'coordinator' ? this.coordinatorSlots : this.slots;
    let slot = slots.get(nodeId);
    if (!slot) {
      const b = this.meta?.brokers.get(nodeId);
      if (!b) {
        await this.refresh();
        const again = this.meta?.brokers.get(nodeId);
        if (!again) throw new ConnectionError(`node ${nodeId}`, 'broker is not in the cluster metadata');
        return this.connectionTo(nodeId, lane);
      }
      slot = newSlot({ host: b.host, port: b.port }, nodeId);
      slots.set(nodeId, slot);
    }
    return this.open(slot);
  }

  /**
   * A connection to any broker: an open one if there is one (least loaded), otherwise known brokers
   * and then bootstrap addresses in turn. Fails with a ConnectionError naming every address tried.
   */
  async anyConnection(): Promise<Connection> {
    let best: Connection | undefined;
    for (const s of [...this.slots.values(), ...this.bootstrapSlots]) {
      const c = s.connection;
      if (c?.isOpen && (!best || c.load < best.load)) best = c;
    }
    if (best) return best;
    const candidates = [...this.slots.values(), ...this.bootstrapSlots].sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs);
    const errors: string[] = [];
    for (const slot of candidates) {
      try {
        return await this.open(slot);
      } catch (e) {
        if (this.closed) throw e;
        errors.push((e as Error).message);
      }
    }
    throw new ConnectionError(candidates.map((s) => `${s.address.host}:${s.address.port}`).join(','), `no broker reachable: ${errors.join('; ')}`);
  }

  private async open(slot: Slot): Promise<Connection> {
    if (this.closed) throw new ClosedError('client');
    if (slot.connection?.isOpen) return slot.connection;
    if (slot.connecting) return slot.connecting;
    const attempt = async (): Promise<Connection> => {
      const wait = slot.nextAttemptAtMs - Date.now();
      if (wait > 0) await this.sleep(wait);
      if (this.closed) throw new ClosedError('client');
      const c = this.config;
      const conn = new Connection({
        host: slot.address.host,
        port: slot.address.port,
        nodeId: slot.nodeId,
        clientId: c.clientId,
        requestTimeoutMs: c.requestTimeoutMs,
        connectTimeoutMs: c.connectTimeoutMs,
        connectionInFlightRequestsMax: c.connectionInFlightRequestsMax,
        connectionQueuedRequestsMax: c.connectionQueuedRequestsMax,
        responseFrameBytesMax: c.responseFrameBytesMax,
        logger: c.logger,
        socketFactory: c.socketFactory,
        authenticate: c.authenticate,
        onClose: (err) => {
          if (slot.connection === conn) slot.connection = undefined;
          if (err) this.noteFailure(slot);
        },
      });
      try {
        await conn.connect();
      } catch (e) {
        this.noteFailure(slot);
        throw e;
      }
      slot.failures = 0;
      slot.nextAttemptAtMs = 0;
      slot.connection = conn;
      return conn;
    };
    slot.connecting = attempt().finally(() => {
      slot.connecting = undefined;
    });
    return slot.connecting;
  }

  private noteFailure(slot: Slot): void {
    const c = this.config;
    const delay = backoffMs(slot.failures, { initialMs: c.reconnectBackoffMs, maxMs: c.reconnectBackoffMaxMs, jitterRatio: c.backoffJitterRatio, random: c.random });
    slot.failures++;
    slot.nextAttemptAtMs = Date.now() + delay;
  }

  /** Sends to broker `nodeId`. */
  async send<Req, Res>(nodeId: number, api: Api<Req, Res>, body: MessageInput<Req>, options?: RequestOptions): Promise<Res> {
    const conn = await this.connectionTo(nodeId);
    return conn.send(api, body, options);
  }

  /** Sends to any broker. */
  async sendAny<Req, Res>(api: Api<Req, Res>, body: MessageInput<Req>, options?: RequestOptions): Promise<Res> {
    const conn = await this.anyConnection();
    return conn.send(api, body, options);
  }

  /**
   * The node id of the coordinator for a group (keyType 0) or transactional id (1). One attempt;
   * a coordinator error is raised as KafkaError (COORDINATOR_NOT_AVAILABLE etc. are retriable).
   */
  async findCoordinator(keyType: number, key: string): Promise<number> {
    const conn = await this.anyConnection();
    // v4+ (KIP-699) looks up a batch of keys; older versions one key.
    const batched = conn.versionOf(FindCoordinatorRequest.apiKey) >= 4;
    const res = await conn.send(findCoordinatorApi, batched ? { keyType, coordinatorKeys: [key] } : { key, keyType });
    const c = res.coordinators.length > 0 ? res.coordinators[0]! : res;
    if (c.errorCode !== 0) throw kafkaError(c.errorCode, `FindCoordinator for ${keyType === 1 ? 'transactional id' : 'group'} ${JSON.stringify(key)}`, c.errorMessage);
    return c.nodeId;
  }

  /** Metadata no older than metadataMaxAgeMs that covers every wanted topic. */
  async current(): Promise<MetadataSnapshot> {
    const m = this.meta;
    if (m && Date.now() - m.fetchedAtMs < this.config.metadataMaxAgeMs && [...this.wanted].every((t) => m.topics.has(t) || m.topicErrors.has(t))) return m;
    return this.refresh();
  }

  /** Fetches metadata for the wanted topics (or all topics when `allTopics`); concurrent calls share one request. */
  refresh(allTopics = false): Promise<MetadataSnapshot> {
    if (allTopics) return this.fetchMetadata(true);
    if (!this.refreshing) {
      this.refreshing = this.fetchMetadata(false).finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async fetchMetadata(allTopics: boolean): Promise<MetadataSnapshot> {
    const conn = await this.anyConnection();
    const topics = allTopics ? null : [...this.wanted].map((name) => ({ name }));
    const res = await conn.send(metadataApi, { topics, allowAutoTopicCreation: this.config.allowAutoTopicCreation });
    const snap = toSnapshot(res, allTopics ? undefined : this.meta);
    this.meta = snap;
    this.updateAddresses(snap);
    this.config.logger({ level: 'debug', message: 'metadata', fields: { brokers: snap.brokers.size, topics: snap.topics.size } });
    return snap;
  }

  private updateAddresses(snap: MetadataSnapshot): void {
    for (const [nodeId, b] of snap.brokers) {
      for (const slot of [this.slots.get(nodeId), this.coordinatorSlots.get(nodeId)]) {
        if (slot && (slot.address.host !== b.host || slot.address.port !== b.port)) {
          slot.connection?.close();
          slot.address = { host: b.host, port: b.port };
        }
      }
    }
  }

  /**
   * The metadata of `topic`, waiting (with refreshes and retry backoff) while the broker says it
   * is unknown or has no leader, for at most `timeoutMs`. Fails with the Kafka error naming the
   * topic, or TimeoutError when no broker answered in time.
   */
  async topic(topic: string, timeoutMs: number, reportedTimeoutMs = timeoutMs): Promise<TopicInfo> {
    this.want(topic);
    const deadline = Date.now() + timeoutMs;
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      try {
        const m = attempts === 0 ? await this.current() : await this.refresh();
        const t = m.topics.get(topic);
        if (t && t.partitions.length > 0) return t;
        const code = m.topicErrors.get(topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        const e = kafkaError(code, `topic ${JSON.stringify(topic)}`);
        if (!e.retriable) throw e;
        lastError = e;
      } catch (e) {
        if (!(e as { retriable?: boolean }).retriable || this.closed) throw e;
        lastError = e;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const code = (lastError as { code?: unknown } | undefined)?.code;
        if (typeof code === 'number') {
          throw kafkaError(code, `topic ${JSON.stringify(topic)} not available after ${reportedTimeoutMs} ms`);
        }
        throw new TimeoutError(`metadata for topic ${JSON.stringify(topic)}`, reportedTimeoutMs, { cause: lastError });
      }
      const c = this.config;
      await this.sleep(Math.min(left, backoffMs(attempts++, { initialMs: c.retryBackoffMs, maxMs: c.retryBackoffMaxMs, jitterRatio: c.backoffJitterRatio, random: c.random })));
    }
  }

  /** Resolves after `ms` (sooner when the cluster closes). Timers never keep the process alive past close(). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of [...this.slots.values(), ...this.coordinatorSlots.values(), ...this.bootstrapSlots]) s.connection?.close();
  }
}

function newSlot(address: BrokerAddress, nodeId: number): Slot {
  return { address, nodeId, connection: undefined, connecting: undefined, failures: 0, nextAttemptAtMs: 0 };
}

/** Builds a snapshot from a Metadata response; with `previous`, topics not asked for again are kept. */
export function toSnapshot(res: MetadataResponse, previous?: MetadataSnapshot): MetadataSnapshot {
  const brokers = new Map<number, BrokerInfo>();
  for (const b of res.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
  const topics = new Map<string, TopicInfo>(previous?.topics ?? []);
  const topicErrors = new Map<string, number>();
  for (const t of res.topics) {
    if (t.name === null) continue;
    if (t.errorCode !== 0) {
      topics.delete(t.name);
      topicErrors.set(t.name, t.errorCode);
      continue;
    }
    const partitions = [...t.partitions]
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode }));
    const available = partitions.filter((p) => p.leader >= 0 && brokers.has(p.leader)).map((p) => p.partition);
    topics.set(t.name, { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions, available });
  }
  return { clusterId: res.clusterId, controllerId: res.controllerId, brokers, topics, topicErrors, fetchedAtMs: Date.now() };
}
