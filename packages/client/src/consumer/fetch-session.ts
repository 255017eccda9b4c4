/**
 * The client side of one broker's incremental fetch session (KIP-227), after Kafka's
 * FetchSessionHandler. The first (full) request lists every partition and asks the broker for a
 * session (epoch 0); later (incremental) requests carry only partitions that are new or whose fetch
 * offset or byte limit changed, plus the ones to forget. Any error, on the wire or from the broker,
 * drops the session and the next request is full again. Pure state: no I/O.
 */

export interface SessionPartition {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: bigint;
  maxBytes: number;
}

export interface SessionRequest {
  sessionId: number;
  sessionEpoch: number;
  /** Partitions to put in the request. */
  toSend: SessionPartition[];
  /** Partitions to remove from the session. */
  toForget: SessionPartition[];
  /** Every partition the answer may report, by key, with the offset the broker fetches it from. */
  inSession: Map<string, SessionPartition>;
  full: boolean;
}

const initialEpoch = 0;
/** Epoch -1 without a session id: a sessionless full fetch (old brokers, or sessions turned off). */
const finalEpoch = -1;

export class FetchSession {
  private sessionId = 0;
  private epoch = initialEpoch;
  private partitions = new Map<string, SessionPartition>();

  constructor(private readonly enabled: boolean) {}

  /** `wanted` becomes the session's state and the request's inSession: the caller hands over a fresh map and does not change it. */
  build(wanted: Map<string, SessionPartition>): SessionRequest {
    const full = !this.enabled || this.sessionId === 0 || this.epoch === initialEpoch;
    if (full) {
      this.partitions = wanted;
      return { sessionId: 0, sessionEpoch: this.enabled ? initialEpoch : finalEpoch, toSend: [...wanted.values()], toForget: [], inSession: wanted, full };
    }
    const toSend: SessionPartition[] = [];
    const toForget: SessionPartition[] = [];
    for (const [k, p] of wanted) {
      const had = this.partitions.get(k);
      if (!had || had.fetchOffset !== p.fetchOffset || had.maxBytes !== p.maxBytes) toSend.push(p);
    }
    for (const [k, p] of this.partitions) if (!wanted.has(k)) toForget.push(p);
    this.partitions = wanted;
    return { sessionId: this.sessionId, sessionEpoch: this.epoch, toSend, toForget, inSession: wanted, full };
  }

  /** A successful answer (top-level error 0) to the request built last. */
  onResponse(request: SessionRequest, sessionId: number): void {
    if (!this.enabled) return;
    if (request.full) {
      this.sessionId = sessionId;
      this.epoch = sessionId === 0 ? initialEpoch : 1;
    } else {
      this.epoch = this.epoch >= 0x7fffffff ? 1 : this.epoch + 1;
    }
  }

  /** The request failed or the broker rejected the session: start over with a full request. */
  reset(): void {
    this.sessionId = 0;
    this.epoch = initialEpoch;
    this.partitions = new Map(); // not clear(): the map is also the inSession of the request built last
  }

  /**
   * After a full answer the broker reports every partition; after an incremental one only those with
   * news. A partition the client stops wanting in between is forgotten by the next build().
   */
  get id(): number {
    return this.sessionId;
  }
}
