/**
 * One share-partition (KIP-932): the delivery state of one topic partition for one share group,
 * as Kafka's SharePartition keeps it.
 *
 *   SPSO (startOffset) ── in-flight batches ── endOffset (exclusive; Kafka's SPEO is endOffset - 1)
 *
 * Offsets below the SPSO are done; offsets from endOffset on were never acquired. In between, each
 * in-flight batch carries one state for the whole batch (the usual case: records are acquired,
 * acknowledged and released a batch at a time) or, once a request touches part of it, one state
 * per offset. States and their transitions:
 *
 *   Available ──acquire (delivery count + 1)──▶ Acquired ──accept──▶ Acknowledged
 *       ▲                                          │ ──reject / gap──▶ Archived
 *       └──── release, lock timeout, session close ┘   (Archived instead once the delivery count
 *                                                       reached group.share.delivery.count.limit)
 *
 * Acknowledged and Archived are final; the SPSO moves past a prefix of final offsets. An
 * acknowledgement is answered only once its state is durable (host.persist); while the write is in
 * flight the records are "pending": nothing acquires or acknowledges them, and a failed write puts
 * them back as they were. Acquisition is not persisted (as in Kafka): after a crash, records that
 * were acquired are simply available again.
 *
 * Everything here is synchronous except the awaited persist; time and timers come from the host.
 */
import { ErrorCode } from '@fjord/protocol';

/** Kafka's RecordState ids, as ShareSnapshot/ShareUpdate store them. */
export const RecordState = { AVAILABLE: 0, ACQUIRED: 1, ACKNOWLEDGED: 2, ARCHIVED: 4 } as const;
export type RecordStateId = (typeof RecordState)[keyof typeof RecordState];

/** Kafka's AcknowledgeType (ShareFetch/ShareAcknowledge AcknowledgeTypes). */
export const AcknowledgeType = { GAP: 0, ACCEPT: 1, RELEASE: 2, REJECT: 3, RENEW: 4 } as const;

/** A range of offsets with one state, as persisted. */
export interface StateBatch {
  firstOffset: bigint;
  lastOffset: bigint;
  deliveryState: number;
  deliveryCount: number;
}

export interface AcquiredRecords {
  firstOffset: bigint;
  lastOffset: bigint;
  deliveryCount: number;
}

/** A record batch of the log as read: only its offsets matter here. */
export interface LogBatch {
  baseOffset: bigint;
  lastOffset: bigint;
}

export interface AckBatch {
  firstOffset: bigint;
  lastOffset: bigint;
  acknowledgeTypes: readonly number[];
}

export interface AckResult {
  errorCode: number;
  errorMessage: string | null;
}

export interface AcquireOptions {
  /** ShareAcquireMode record_limit (KIP-1206): maxRecords is exact, not rounded up to a batch end. */
  strict?: boolean;
  /** ShareFetch BatchSize: newly acquired records are tracked (and acknowledged) in batches of this size. */
  batchSize?: number;
}

/** What a share-partition needs from its surroundings. */
export interface SharePartitionHost {
  now(): number;
  /** Runs fn after delayMs; returns a function that cancels it. */
  schedule(delayMs: number, fn: () => void): () => void;
  deliveryCountLimit(): number;
  lockDurationMs(): number;
  /** group.share.partition.max.record.locks */
  maxInFlightRecords(): number;
  /** Durably records changed states (and the current SPSO); rejects when the write failed. */
  persist(startOffset: bigint, batches: StateBatch[]): Promise<void>;
  /** Records may have become acquirable (released, timed out) or the SPSO moved: wake waiting fetches. */
  changed(): void;
  /** A failure that is not answered to anyone (a lock-timeout write). */
  warn(msg: string, fields: Record<string, unknown>): void;
}

/** The state of a whole in-flight batch or of one offset of it. */
interface Unit {
  state: RecordStateId;
  deliveryCount: number;
  /** The member holding the acquisition lock; '' when not acquired. */
  memberId: string;
  /** When the acquisition lock ends (host clock, ms); 0 when not acquired. */
  lockExpiresAtMs: number;
  /** A transition whose write is in flight. */
  pending: boolean;
}

class InFlightBatch {
  constructor(
    readonly first: bigint,
    readonly last: bigint,
    public whole: Unit | null,
    public offsets: Unit[] | null,
  ) {}

  get size(): number {
    return Number(this.last - this.first) + 1;
  }

  unit(offset: bigint): Unit {
    return this.whole ?? this.offsets![Number(offset - this.first)]!;
  }

  /** Switches to one state per offset (Kafka's maybeInitializeOffsetStateUpdate). */
  split(): void {
    if (this.whole === null) return;
    const w = this.whole;
    this.offsets = Array.from({ length: this.size }, () => ({ ...w }));
    this.whole = null;
  }
}

const isFinal = (u: Unit): boolean => (u.state === RecordState.ACKNOWLEDGED || u.state === RecordState.ARCHIVED) && !u.pending;
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** One planned transition: the unit, the offsets it covers, and the target. */
interface Step {
  unit: Unit;
  first: bigint;
  last: bigint;
  /** An AcknowledgeType, or -1 for a release on session close / member leaving. */
  type: number;
}

const RELEASE_ON_CLOSE = -1;

export class SharePartition {
  private batches: InFlightBatch[] = [];
  private _startOffset: bigint;
  private _endOffset: bigint;
  /** Some offset may be Available: nextFetchOffset must look (Kafka's findNextFetchOffset). */
  private findNext = false;
  private cancelLockTimer?: () => void;
  private lockTimerAtMs = Infinity;
  private closed = false;

  /**
   * @param startOffset the SPSO: the persisted one, or the one share.auto.offset.reset chose.
   * @param persisted the persisted state batches (Available, Acknowledged or Archived).
   */
  constructor(
    private readonly host: SharePartitionHost,
    startOffset: bigint,
    persisted: readonly StateBatch[] = [],
  ) {
    this._startOffset = startOffset;
    let cursor = startOffset;
    for (const pb of persisted) {
      if (pb.lastOffset < cursor) continue;
      const first = max(pb.firstOffset, cursor);
      // Offsets missing from the state were acquired when the broker stopped (acquisition is not
      // persisted): they are available again, their delivery count lost, as in Kafka.
      if (first > cursor) this.batches.push(new InFlightBatch(cursor, first - 1n, available(0), null));
      const state = pb.deliveryState === RecordState.ACKNOWLEDGED || pb.deliveryState === RecordState.ARCHIVED ? pb.deliveryState : RecordState.AVAILABLE;
      this.batches.push(new InFlightBatch(first, pb.lastOffset, { state, deliveryCount: pb.deliveryCount, memberId: '', lockExpiresAtMs: 0, pending: false }, null));
      cursor = pb.lastOffset + 1n;
    }
    this._endOffset = cursor;
    this.findNext = this.batches.length > 0;
    this.advanceStart();
  }

  get startOffset(): bigint {
    return this._startOffset;
  }

  /** The next offset never acquired (exclusive end of the in-flight window). */
  get endOffset(): bigint {
    return this._endOffset;
  }

  /** Offsets between the SPSO and the end that are not final yet (for limits and lag). */
  get inFlightRecords(): number {
    return Number(this._endOffset - this._startOffset);
  }

  /** Cancels the lock timer; the partition is not used afterwards. */
  close(): void {
    this.closed = true;
    this.cancelLockTimer?.();
    this.cancelLockTimer = undefined;
    this.lockTimerAtMs = Infinity;
  }

  /** Where the next read should start: the first Available offset, else endOffset. */
  nextFetchOffset(): bigint {
    if (!this.findNext) return this._endOffset;
    let pendingSeen = false;
    for (let i = this.firstIndexEndingAtOrAfter(this._startOffset); i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (b.whole) {
        if (b.whole.state === RecordState.AVAILABLE) {
          if (!b.whole.pending) return max(b.first, this._startOffset);
          pendingSeen = true;
        }
        continue;
      }
      for (let o = max(b.first, this._startOffset); o <= b.last; o++) {
        const u = b.offsets![Number(o - b.first)]!;
        if (u.state !== RecordState.AVAILABLE) continue;
        if (!u.pending) return o;
        pendingSeen = true;
      }
    }
    // A pending release becomes available when its write completes (which sets findNext again).
    if (!pendingSeen) this.findNext = false;
    return this._endOffset;
  }

  /**
   * Whether a fetch may acquire anything (Kafka's canAcquireRecords): records to acquire again, or
   * room under group.share.partition.max.record.locks for new ones.
   */
  canAcquire(): boolean {
    if (this.nextFetchOffset() < this._endOffset) return true;
    return this.inFlightRecords < this.host.maxInFlightRecords();
  }

  /**
   * Acquires for `memberId` the acquirable records among what a read from `fetchOffset` returned
   * (whole log batches). Records already in flight are acquired if Available; records past the
   * in-flight window are added as new in-flight batches. `maxRecords` is a soft limit rounded up to
   * a log batch end, as in Kafka, unless options.strict.
   */
  acquire(memberId: string, maxRecords: number, fetchOffset: bigint, read: readonly LogBatch[], options: AcquireOptions = {}): AcquiredRecords[] {
    if (this.closed || maxRecords <= 0 || read.length === 0) return [];
    // Offsets between the fetch offset and the first batch returned do not exist in the log
    // (compaction): they are acquired too and the client acknowledges them as gaps.
    const rangeFirst = min(fetchOffset, read[0]!.baseOffset);
    const rangeLast = read[read.length - 1]!.lastOffset;
    const strict = options.strict === true;
    const out: AcquiredRecords[] = [];
    let count = 0;
    const now = this.host.now();
    const lockUntil = now + this.host.lockDurationMs();

    for (let i = this.firstIndexEndingAtOrAfter(max(rangeFirst, this._startOffset)); i < this.batches.length && count < maxRecords; i++) {
      const b = this.batches[i]!;
      if (b.first > rangeLast) break;
      if (b.whole) {
        if (b.whole.state !== RecordState.AVAILABLE || b.whole.pending) continue;
        const full = b.first >= rangeFirst && b.last <= rangeLast && b.first >= this._startOffset;
        if (full && (!strict || b.size <= maxRecords - count)) {
          acquireUnit(b.whole, memberId, lockUntil);
          out.push({ firstOffset: b.first, lastOffset: b.last, deliveryCount: b.whole.deliveryCount });
          count += b.size;
          continue;
        }
        b.split();
      }
      // One state per offset: acquire the Available ones in range, reported as runs.
      let run: AcquiredRecords | undefined;
      for (let o = max(max(b.first, rangeFirst), this._startOffset); o <= min(b.last, rangeLast); o++) {
        if (strict && count >= maxRecords) break;
        const u = b.offsets![Number(o - b.first)]!;
        if (u.state !== RecordState.AVAILABLE || u.pending) {
          run = undefined;
          continue;
        }
        acquireUnit(u, memberId, lockUntil);
        count++;
        if (run && run.lastOffset === o - 1n && run.deliveryCount === u.deliveryCount) run.lastOffset = o;
        else out.push((run = { firstOffset: o, lastOffset: o, deliveryCount: u.deliveryCount }));
      }
    }

    if (count < maxRecords && rangeLast >= this._endOffset) {
      const room = this.host.maxInFlightRecords() - this.inFlightRecords;
      const budget = Math.min(maxRecords - count, room);
      if (budget > 0) {
        const first = max(rangeFirst, this._endOffset);
        let last = rangeLast;
        if (last - first + 1n > BigInt(budget)) last = strict ? first + BigInt(budget) - 1n : batchEndOf(read, first + BigInt(budget) - 1n);
        const wasEmpty = this.batches.length === 0;
        for (const [f, l] of chunks(read, first, last, options.batchSize ?? 0, strict)) {
          const unit: Unit = { state: RecordState.ACQUIRED, deliveryCount: 1, memberId, lockExpiresAtMs: lockUntil, pending: false };
          this.batches.push(new InFlightBatch(f, l, unit, null));
          out.push({ firstOffset: f, lastOffset: l, deliveryCount: 1 });
        }
        if (wasEmpty) this._startOffset = first;
        this._endOffset = last + 1n;
      }
    }
    if (out.length > 0) this.armLockTimer(lockUntil);
    return out;
  }

  /**
   * Applies a member's acknowledgements for this partition, all or none (Kafka's acknowledge):
   * every offset must be Acquired by this member. Resolves once the new states are durable.
   */
  async acknowledge(memberId: string, acks: readonly AckBatch[]): Promise<AckResult> {
    const steps: Step[] = [];
    const planned = new Set<Unit>();
    for (const a of acks) {
      if (a.lastOffset < this._startOffset) continue; // already final
      const problem = this.planAck(memberId, a, steps, planned);
      if (problem) return problem;
    }
    return this.apply(steps);
  }

  /** Releases every record `memberId` holds (share session closed, Kafka's releaseAcquiredRecords). */
  async releaseAcquired(memberId: string): Promise<AckResult> {
    const steps: Step[] = [];
    for (const b of this.batches) {
      if (b.whole && b.whole.state === RecordState.ACQUIRED && b.whole.memberId === memberId && b.first < this._startOffset && b.last >= this._startOffset) b.split();
      if (b.whole) {
        if (b.whole.state === RecordState.ACQUIRED && b.whole.memberId === memberId && !b.whole.pending) steps.push({ unit: b.whole, first: b.first, last: b.last, type: RELEASE_ON_CLOSE });
        continue;
      }
      for (let o = b.first; o <= b.last; o++) {
        const u = b.offsets![Number(o - b.first)]!;
        if (u.state === RecordState.ACQUIRED && u.memberId === memberId && !u.pending) steps.push({ unit: u, first: o, last: o, type: RELEASE_ON_CLOSE });
      }
    }
    return this.apply(steps);
  }

  /** The log start offset moved (retention, DeleteRecords): Available records before it are archived. */
  onLogStartOffset(logStartOffset: bigint): void {
    if (logStartOffset <= this._startOffset) return;
    for (const b of this.batches) {
      if (b.first >= logStartOffset) break;
      if (b.whole) {
        if (b.whole.state !== RecordState.AVAILABLE || b.whole.pending) continue;
        if (b.last < logStartOffset) {
          b.whole.state = RecordState.ARCHIVED;
          continue;
        }
        b.split();
      }
      for (let o = b.first; o <= min(b.last, logStartOffset - 1n); o++) {
        const u = b.offsets![Number(o - b.first)]!;
        if (u.state === RecordState.AVAILABLE && !u.pending) u.state = RecordState.ARCHIVED;
      }
    }
    this._startOffset = logStartOffset;
    if (this._endOffset < logStartOffset) this._endOffset = logStartOffset;
    this.findNext = true;
    this.advanceStart();
  }

  /** The in-flight state, for tests and describe: one entry per run of equal states. */
  inFlight(): Array<StateBatch & { memberId: string }> {
    const out: Array<StateBatch & { memberId: string }> = [];
    const push = (first: bigint, last: bigint, u: Unit): void => {
      const prev = out[out.length - 1];
      if (prev && prev.lastOffset === first - 1n && prev.deliveryState === u.state && prev.deliveryCount === u.deliveryCount && prev.memberId === u.memberId) prev.lastOffset = last;
      else out.push({ firstOffset: first, lastOffset: last, deliveryState: u.state, deliveryCount: u.deliveryCount, memberId: u.memberId });
    };
    for (const b of this.batches) {
      if (b.whole) push(b.first, b.last, b.whole);
      else for (let o = b.first; o <= b.last; o++) push(o, o, b.offsets![Number(o - b.first)]!);
    }
    return out;
  }

  // ---- acknowledgement planning ----

  private planAck(memberId: string, a: AckBatch, steps: Step[], planned: Set<Unit>): AckResult | undefined {
    const types = a.acknowledgeTypes;
    if (this.batches.length === 0) return invalidState('Batch record not found. The request batch offsets are not found in the cache.');
    const lastCached = this.batches[this.batches.length - 1]!.last;
    if (a.firstOffset < this.batches[0]!.first && !(a.firstOffset < this._startOffset && this._startOffset <= a.lastOffset)) {
      return invalidState('Batch record not found. The request batch offsets are not found in the cache.');
    }
    if (a.firstOffset > lastCached) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Batch record not found. The first offset in request is past acquired records.' };
    if (a.lastOffset > lastCached) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Batch record not found. The last offset in request is past acquired records.' };
    const from = max(a.firstOffset, this._startOffset);
    for (let i = this.firstIndexEndingAtOrAfter(from); i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (b.first > a.lastOffset) break;
      if (b.whole) {
        const w = b.whole;
        if (w.memberId === '') return invalidState('The batch cannot be acknowledged. The batch is not in the acquired state.');
        if (w.memberId !== memberId) return invalidState('Member is not the owner of batch record');
        const full = b.first >= a.firstOffset && b.last <= a.lastOffset;
        const startWithin = b.first < this._startOffset && this._startOffset <= b.last;
        if (full && types.length === 1 && !startWithin) {
          if (w.state !== RecordState.ACQUIRED || w.pending || planned.has(w)) return invalidState('The batch cannot be acknowledged. The batch is not in the acquired state.');
          planned.add(w);
          steps.push({ unit: w, first: b.first, last: b.last, type: types[0]! });
          continue;
        }
        if (w.state !== RecordState.ACQUIRED || w.pending || planned.has(w)) return invalidState('The batch cannot be acknowledged. The subset batch is not in the acquired state.');
        b.split();
      }
      for (let o = max(b.first, from); o <= min(b.last, a.lastOffset); o++) {
        const u = b.offsets![Number(o - b.first)]!;
        if (u.state !== RecordState.ACQUIRED || u.pending || planned.has(u)) return invalidState('The batch cannot be acknowledged. The offset is not acquired.');
        if (u.memberId !== memberId) return invalidState('Member is not the owner of offset');
        planned.add(u);
        steps.push({ unit: u, first: o, last: o, type: types.length > 1 ? types[Number(o - a.firstOffset)]! : types[0]! });
      }
    }
    return undefined;
  }

  /** Applies planned transitions, persists the changed states, and rolls back if that fails. */
  private async apply(steps: Step[]): Promise<AckResult> {
    const now = this.host.now();
    const limit = this.host.deliveryCountLimit();
    const changed: Array<{ step: Step; before: Unit }> = [];
    let renewedUntil = 0;
    for (const step of steps) {
      const u = step.unit;
      if (step.type === AcknowledgeType.RENEW) {
        u.lockExpiresAtMs = renewedUntil = now + this.host.lockDurationMs();
        continue;
      }
      changed.push({ step, before: { ...u } });
      u.state = targetState(step, u, limit, this._startOffset);
      u.memberId = '';
      u.lockExpiresAtMs = 0;
      u.pending = true;
    }
    if (renewedUntil > 0) this.armLockTimer(renewedUntil);
    if (changed.length === 0) return OK;
    try {
      await this.host.persist(this._startOffset, stateBatches(changed.map((c) => c.step)));
    } catch (err) {
      for (const { step, before } of changed) if (step.unit.pending) Object.assign(step.unit, before, { pending: false });
      const restoredLock = Math.min(...changed.filter((c) => c.before.state === RecordState.ACQUIRED).map((c) => c.before.lockExpiresAtMs));
      if (Number.isFinite(restoredLock)) this.armLockTimer(restoredLock);
      return { errorCode: writeErrorCode(err), errorMessage: `Failed to write the share group state: ${(err as Error).message}` };
    }
    for (const { step } of changed) step.unit.pending = false;
    this.findNext = true;
    this.advanceStart();
    this.host.changed();
    return OK;
  }

  // ---- acquisition locks ----

  private armLockTimer(atMs: number): void {
    if (this.closed || atMs >= this.lockTimerAtMs) return;
    this.cancelLockTimer?.();
    this.lockTimerAtMs = atMs;
    this.cancelLockTimer = this.host.schedule(Math.max(0, atMs - this.host.now()), () => {
      this.cancelLockTimer = undefined;
      this.lockTimerAtMs = Infinity;
      this.expireLocks();
    });
  }

  /**
   * Acquisition locks that ran out: the records become Available again, or Archived once their
   * delivery count reached the limit (Kafka's releaseAcquisitionLockOnTimeout). The write is not
   * waited for and a failed one does not undo the transition, as in Kafka.
   */
  expireLocks(): void {
    if (this.closed) return;
    const now = this.host.now();
    const limit = this.host.deliveryCountLimit();
    const steps: Step[] = [];
    let next = Infinity;
    for (const b of this.batches) {
      if (b.whole && b.whole.state === RecordState.ACQUIRED && b.whole.lockExpiresAtMs <= now && b.first < this._startOffset && b.last >= this._startOffset) b.split();
      const units: Array<[Unit, bigint, bigint]> = b.whole ? [[b.whole, b.first, b.last]] : b.offsets!.map((u, i) => [u, b.first + BigInt(i), b.first + BigInt(i)]);
      for (const [u, first, last] of units) {
        if (u.state !== RecordState.ACQUIRED || u.pending) continue;
        if (u.lockExpiresAtMs > now) {
          next = Math.min(next, u.lockExpiresAtMs);
          continue;
        }
        const step: Step = { unit: u, first, last, type: RELEASE_ON_CLOSE };
        u.state = targetState(step, u, limit, this._startOffset);
        u.memberId = '';
        u.lockExpiresAtMs = 0;
        steps.push(step);
      }
    }
    if (Number.isFinite(next)) this.armLockTimer(next);
    if (steps.length === 0) return;
    this.host.persist(this._startOffset, stateBatches(steps)).catch((err) => this.host.warn('share-partition state after a lock timeout not stored', { error: err }));
    this.findNext = true;
    this.advanceStart();
    this.host.changed();
  }

  // ---- the SPSO ----

  /** Moves the SPSO past final offsets and drops in-flight batches that are wholly behind it. */
  private advanceStart(): void {
    let drop = 0;
    for (; drop < this.batches.length; drop++) {
      const b = this.batches[drop]!;
      if (b.first > this._startOffset) this._startOffset = b.first; // nothing is tracked in between
      if (b.whole) {
        if (!isFinal(b.whole)) break;
        this._startOffset = max(this._startOffset, b.last + 1n);
        continue;
      }
      let o = max(this._startOffset, b.first);
      while (o <= b.last && isFinal(b.offsets![Number(o - b.first)]!)) o++;
      this._startOffset = o;
      if (o <= b.last) break;
      // Offsets of this batch behind the SPSO may still be acquired (log start moved): keep it.
      if (b.offsets!.some((u) => !isFinal(u))) break;
    }
    if (drop > 0) this.batches.splice(0, drop);
    if (this.batches.length === 0) this._startOffset = this._endOffset;
  }

  /** Index of the first in-flight batch whose last offset is at or after `offset`. */
  private firstIndexEndingAtOrAfter(offset: bigint): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid]!.last < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const OK: AckResult = { errorCode: ErrorCode.NONE, errorMessage: null };

function invalidState(errorMessage: string): AckResult {
  return { errorCode: ErrorCode.INVALID_RECORD_STATE, errorMessage };
}

function available(deliveryCount: number): Unit {
  return { state: RecordState.AVAILABLE, deliveryCount, memberId: '', lockExpiresAtMs: 0, pending: false };
}

function acquireUnit(u: Unit, memberId: string, lockUntil: number): void {
  u.state = RecordState.ACQUIRED;
  u.deliveryCount++;
  u.memberId = memberId;
  u.lockExpiresAtMs = lockUntil;
}

/** Where a transition lands: Kafka maps a release past the delivery limit (or behind the SPSO) to Archived. */
function targetState(step: Step, u: Unit, limit: number, startOffset: bigint): RecordStateId {
  switch (step.type) {
    case AcknowledgeType.ACCEPT:
      return RecordState.ACKNOWLEDGED;
    case AcknowledgeType.GAP:
    case AcknowledgeType.REJECT:
      return RecordState.ARCHIVED;
    default: // RELEASE, or released on session close / lock timeout
      if (step.last < startOffset) return RecordState.ARCHIVED;
      return u.deliveryCount >= limit ? RecordState.ARCHIVED : RecordState.AVAILABLE;
  }
}

/** The changed states as persisted batches: in offset order, equal neighbours merged. */
function stateBatches(steps: readonly Step[]): StateBatch[] {
  const sorted = [...steps].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: StateBatch[] = [];
  for (const s of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.lastOffset === s.first - 1n && prev.deliveryState === s.unit.state && prev.deliveryCount === s.unit.deliveryCount) prev.lastOffset = s.last;
    else out.push({ firstOffset: s.first, lastOffset: s.last, deliveryState: s.unit.state, deliveryCount: s.unit.deliveryCount });
  }
  return out;
}

/** The last offset of the read batch holding `offset` (Kafka's lastOffsetFromBatchWithRequestOffset). */
function batchEndOf(read: readonly LogBatch[], offset: bigint): bigint {
  for (const b of read) if (b.baseOffset <= offset && offset <= b.lastOffset) return b.lastOffset;
  return offset;
}

/**
 * Splits [first, last] into in-flight batches of about `batchSize` records, cut at log batch ends
 * (exactly every batchSize records when strict). One batch when batchSize is 0.
 */
function chunks(read: readonly LogBatch[], first: bigint, last: bigint, batchSize: number, strict: boolean): Array<[bigint, bigint]> {
  if (batchSize <= 0 || last - first + 1n <= BigInt(batchSize)) return [[first, last]];
  const out: Array<[bigint, bigint]> = [];
  let start = first;
  const size = BigInt(batchSize);
  while (start <= last) {
    let end = start + size - 1n;
    if (!strict) end = batchEndOf(read, end);
    if (end > last) end = last;
    out.push([start, end]);
    start = end + 1n;
  }
  return out;
}

function writeErrorCode(err: unknown): number {
  const code = (err as { errorCode?: unknown }).errorCode;
  return typeof code === 'number' && code !== 0 ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
}
