/**
 * Incremental fetch sessions (KIP-227). A consumer that opens a session sends, after the first
 * full fetch, only the partitions whose fetch position changed; the broker answers only the
 * partitions that have something new (records, a moved high watermark / log start offset, an error).
 *
 * Session ids and epochs follow FetchMetadata: (0, -1) full fetch without a session; (0, 0) open a
 * new one; (id, 0) close id and open a new one; (id, -1) close id, full fetch; (id, n > 0)
 * incremental fetch n of session id.
 */
import { ErrorCode } from '@fjord/protocol';

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export interface SessionPartition {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  logStartOffset: bigint;
  /** What the session last told the client, to decide whether a partition has news. */
  sentHighWatermark: bigint;
  sentLastStableOffset: bigint;
  sentLogStartOffset: bigint;
}

export interface FetchSession {
  id: number;
  epoch: number;
  /** Insertion-ordered; partitions that returned data move to the end, for fairness. */
  partitions: Map<string, SessionPartition>;
  lastUsedMs: number;
  usesTopicIds: boolean;
}

export const sessionKey = (topicOrId: string, partition: number): string => `${topicOrId}:${partition}`;

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private nextId = 1;

  constructor(
    private readonly maxSessions: number,
    private readonly evictAfterMs = 120_000,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Opens a new session; returns undefined when the cache is full of recently used sessions. */
  create(now: number, usesTopicIds: boolean): FetchSession | undefined {
    if (this.sessions.size >= this.maxSessions) {
      let oldest: FetchSession | undefined;
      for (const s of this.sessions.values()) if (!oldest || s.lastUsedMs < oldest.lastUsedMs) oldest = s;
      if (!oldest || now - oldest.lastUsedMs < this.evictAfterMs) return undefined;
      this.sessions.delete(oldest.id);
    }
    let id = this.nextId;
    while (this.sessions.has(id) || id <= 0) id = id >= 0x7fffffff ? 1 : id + 1;
    this.nextId = id >= 0x7fffffff ? 1 : id + 1;
    const s: FetchSession = { id, epoch: 1, partitions: new Map(), lastUsedMs: now, usesTopicIds };
    this.sessions.set(id, s);
    return s;
  }

  /** Looks up a session for an incremental fetch; returns it or the error code Kafka gives. */
  lookup(id: number, epoch: number, now: number): FetchSession | number {
    const s = this.sessions.get(id);
    if (!s) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
    if (s.epoch !== epoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
    s.lastUsedMs = now;
    return s;
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }
}
