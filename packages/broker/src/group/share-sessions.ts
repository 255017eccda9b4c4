/**
 * Share sessions (KIP-932), as Kafka's ShareSessionCache keeps them: one per (group, member) on
 * this broker, holding the partitions the member fetches. ShareFetch with epoch 0 opens one (a
 * previous one of the same member is replaced), later requests must carry the expected epoch and
 * add or forget partitions, epoch -1 closes it. A session also ends when the connection that
 * opened it closes; the member's acquired records are then released.
 * At most group.share.max.share.sessions exist; beyond that SHARE_SESSION_LIMIT_REACHED.
 */

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export interface SessionPartition {
  topicId: string;
  partition: number;
  /** Must appear in the next response even without data (new in the session, or errored). */
  requiresUpdate: boolean;
}

export interface ShareSession {
  readonly groupId: string;
  readonly memberId: string;
  /** The epoch the next request must carry. */
  epoch: number;
  readonly partitions: Map<string, SessionPartition>;
  /** Aborts when the connection that opened the session closes. */
  readonly connection: AbortSignal;
}

export const partitionKey = (topicId: string, partition: number): string => `${topicId}:${partition}`;

/** Kafka's ShareRequestMetadata.nextEpoch: 1, 2, ... wrapping back to 1. */
export function nextEpoch(epoch: number): number {
  return epoch >= 0x7fffffff ? 1 : epoch + 1;
}

export class ShareSessionCache {
  private readonly sessions = new Map<string, ShareSession>();

  constructor(private readonly maxSessions: () => number) {}

  private static key(groupId: string, memberId: string): string {
    return `${groupId}\u0000${memberId}`;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(groupId: string, memberId: string): ShareSession | undefined {
    return this.sessions.get(ShareSessionCache.key(groupId, memberId));
  }

  /** Opens a session (replacing the member's previous one); undefined when the cache is full. */
  create(groupId: string, memberId: string, connection: AbortSignal, partitions: Iterable<[string, number]>): ShareSession | undefined {
    const key = ShareSessionCache.key(groupId, memberId);
    this.sessions.delete(key);
    if (this.sessions.size >= this.maxSessions()) return undefined;
    const session: ShareSession = { groupId, memberId, epoch: nextEpoch(INITIAL_EPOCH), partitions: new Map(), connection };
    for (const [topicId, partition] of partitions) session.partitions.set(partitionKey(topicId, partition), { topicId, partition, requiresUpdate: true });
    this.sessions.set(key, session);
    return session;
  }

  /** Removes the session if it is still this one. */
  remove(session: ShareSession): boolean {
    const key = ShareSessionCache.key(session.groupId, session.memberId);
    if (this.sessions.get(key) !== session) return false;
    this.sessions.delete(key);
    return true;
  }

  removeGroup(groupId: string): ShareSession[] {
    const out: ShareSession[] = [];
    for (const [k, s] of this.sessions) {
      if (s.groupId !== groupId) continue;
      this.sessions.delete(k);
      out.push(s);
    }
    return out;
  }

  /** Sessions opened on a connection. */
  ofConnection(connection: AbortSignal): ShareSession[] {
    return [...this.sessions.values()].filter((s) => s.connection === connection);
  }

  clear(): void {
    this.sessions.clear();
  }
}
