/**
 * Idempotent and transactional producer state of one partition (Kafka's ProducerStateManager,
 * ProducerStateEntry and ProducerAppendInfo), checked in the append's ordered phase from batch
 * headers only.
 *
 * Per producer id: its epoch, the metadata of its last 5 batches (sequence range, offset range,
 * max timestamp), the first offset of its open transaction, the epoch of the last transaction
 * coordinator that ended one, and its last timestamp. Per partition: the open transactions by
 * first offset (their minimum bounds the last stable offset), and transactions already ended
 * whose marker is not yet below the high watermark ("unreplicated"; they still hold the LSO back).
 *
 * An append is checked against the state as it was before it (`analyze`, synchronous, no side
 * effect), written, and only then applied (`apply`), so a refused or failed append changes
 * nothing. Rules, as Kafka 3.x/4.x for a client append (AppendOrigin.CLIENT):
 *  - a batch whose epoch and sequence range equal one of the producer's last 5 batches is a
 *    duplicate: nothing of the append is written and the original batch's offsets are returned;
 *  - an epoch below the producer's: INVALID_PRODUCER_EPOCH;
 *  - a new (higher) epoch must start at sequence 0 unless the producer's epoch is unknown:
 *    OUT_OF_ORDER_SEQUENCE_NUMBER;
 *  - the same epoch must continue at lastSequence + 1 (0 after Int32.MAX):
 *    OUT_OF_ORDER_SEQUENCE_NUMBER; a producer with no known epoch (new, expired, or whose state
 *    went with its data) may start at any sequence (KIP-360: the broker no longer answers
 *    UNKNOWN_PRODUCER_ID);
 *  - a non-transactional batch while the producer's transaction is open: INVALID_TXN_STATE.
 * Coordinator appends (transaction markers, and data written by a coordinator) check epochs but
 * not sequences; markers also check the coordinator epoch (TRANSACTION_COORDINATOR_FENCED).
 * Replication and recovery replay apply batches without checks.
 */
import { Reader, ProducerSnapshot, Writer, crc32cOf, type ProducerSnapshotProducerEntry } from '@fjord/protocol';
import { StorageError } from './errors.js';
import { producerBatchesRetained } from './limits.js';
import type { AbortedTxn } from './txn-index.js';

export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
const INT32_MAX = 0x7fff_ffff;

/** Who appends: a producer, a coordinator (markers, coordinator-written batches), or a replica/recovery replay. */
export type AppendOrigin = 'client' | 'coordinator' | 'replication';

/** Kafka's error names for a refused append (the broker maps them to codes). */
export type ProducerErrorName = 'INVALID_PRODUCER_EPOCH' | 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'INVALID_TXN_STATE' | 'TRANSACTION_COORDINATOR_FENCED';

/** The last sequence of a batch: baseSequence + lastOffsetDelta, wrapping after Int32.MAX (Kafka's DefaultRecordBatch.incrementSequence). */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

/** The inverse of incrementSequence (Kafka's DefaultRecordBatch.decrementSequence). */
export function decrementSequence(sequence: number, decrement: number): number {
  if (sequence < decrement) return INT32_MAX - (decrement - sequence) + 1;
  return sequence - decrement;
}

/** Kafka's ProducerAppendInfo.inSequence. */
function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

/** One of a producer's last batches (Kafka's BatchMetadata). */
export interface BatchMetadata {
  lastSeq: number;
  lastOffset: bigint;
  /** lastOffset - firstOffset, which is also lastSeq - firstSeq. */
  offsetDelta: number;
  /** The batch's max timestamp as stored. */
  timestamp: bigint;
}

export const firstSeqOf = (b: BatchMetadata): number => decrementSequence(b.lastSeq, b.offsetDelta);
export const firstOffsetOf = (b: BatchMetadata): bigint => b.lastOffset - BigInt(b.offsetDelta);

export class ProducerStateEntry {
  /** Oldest first, at most producerBatchesRetained. */
  batches: BatchMetadata[] = [];
  constructor(
    readonly producerId: bigint,
    public epoch: number,
    public coordinatorEpoch: number,
    public lastTimestamp: bigint,
    /** First offset of the open transaction, -1n when none. */
    public currentTxnFirstOffset: bigint,
  ) {}

  static empty(producerId: bigint): ProducerStateEntry {
    return new ProducerStateEntry(producerId, NO_PRODUCER_EPOCH, -1, -1n, -1n);
  }

  get lastSeq(): number {
    const b = this.batches[this.batches.length - 1];
    return b ? b.lastSeq : NO_SEQUENCE;
  }
  get lastDataOffset(): bigint {
    const b = this.batches[this.batches.length - 1];
    return b ? b.lastOffset : -1n;
  }
  get lastOffsetDelta(): number {
    const b = this.batches[this.batches.length - 1];
    return b ? b.offsetDelta : 0;
  }

  /** Kafka's maybeUpdateProducerEpoch: a new epoch forgets the old epoch's batches. */
  setEpoch(epoch: number): void {
    if (this.epoch !== epoch) {
      this.batches = [];
      this.epoch = epoch;
    }
  }

  addBatch(b: BatchMetadata): void {
    if (this.batches.length >= producerBatchesRetained) this.batches.shift();
    this.batches.push(b);
  }

  /** The cached batch with exactly this epoch and sequence range (Kafka's findDuplicateBatch). */
  findDuplicate(epoch: number, firstSeq: number, lastSeq: number): BatchMetadata | undefined {
    if (epoch !== this.epoch) return undefined;
    for (const b of this.batches) if (b.lastSeq === lastSeq && firstSeqOf(b) === firstSeq) return b;
    return undefined;
  }
}

/** A batch as the producer state sees it: header fields and the offsets the append assigns. */
export interface ProducerBatch {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  /** The batch's first offset in the log. */
  firstOffset: bigint;
  /** Max timestamp as stored (LogAppendTime when the topic rewrites it). */
  maxTimestamp: bigint;
  isTransactional: boolean;
  /**
   * Control batches: the end-transaction marker, or null for one without a record (compaction
   * emptied it; it changes nothing, as in Kafka). Undefined for data batches.
   */
  marker?: { commit: boolean; coordinatorEpoch: number; timestamp: bigint } | null;
}

export interface CompletedTxn {
  producerId: bigint;
  firstOffset: bigint;
  /** The marker's offset. */
  lastOffset: bigint;
  aborted: boolean;
}

/** What an append does to one producer (Kafka's ProducerAppendInfo with its updatedEntry). */
interface Staged {
  producerId: bigint;
  /** The state before this append (an empty entry for an unknown producer). */
  current: ProducerStateEntry;
  known: boolean;
  epoch: number;
  coordinatorEpoch: number;
  lastTimestamp: bigint;
  currentTxnFirstOffset: bigint;
  /** Batches this append adds, oldest first. */
  batches: BatchMetadata[];
  /** First offset of a transaction this append starts, -1n when none. */
  startedTxn: bigint;
}

export type AnalyzeResult =
  | { kind: 'ok'; staged: Staged[]; completed: CompletedTxn[] }
  | { kind: 'duplicate'; batch: BatchMetadata }
  | { kind: 'error'; error: ProducerErrorName; message: string; batchIndex: number };

const NOTHING: AnalyzeResult = Object.freeze({ kind: 'ok', staged: [], completed: [] }) as AnalyzeResult;

class Refusal {
  constructor(
    readonly error: ProducerErrorName,
    readonly message: string,
  ) {}
}

export interface ProducerStateOptions {
  /** topic-partition, for messages. */
  name: string;
  /** producer.id.expiration.ms */
  expirationMs: number;
}

export class ProducerStateManager {
  readonly name: string;
  expirationMs: number;
  private readonly producers = new Map<bigint, ProducerStateEntry>();
  /** Open transactions, producer id -> first offset; insertion order is first-offset order. */
  private readonly ongoing = new Map<bigint, bigint>();
  /** Ended transactions whose marker is at or above the high watermark. */
  private unreplicated: Array<{ producerId: bigint; firstOffset: bigint; lastOffset: bigint }> = [];

  constructor(o: ProducerStateOptions) {
    this.name = o.name;
    this.expirationMs = o.expirationMs;
  }

  get size(): number {
    return this.producers.size;
  }

  get ongoingTransactions(): number {
    return this.ongoing.size;
  }

  entry(producerId: bigint): ProducerStateEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerStateEntry> {
    return this.producers.values();
  }

  /**
   * Checks the batches of one append (offsets already assigned) against the state before it.
   * No side effect; pass the result to apply() once the bytes are written. `transactionVersion`
   * applies to markers: 2 (KIP-890) requires a marker epoch above the producer's, except for the
   * retry of a marker that already ended the transaction.
   */
  analyze(batches: readonly ProducerBatch[], origin: AppendOrigin, transactionVersion = 0): AnalyzeResult {
    let staged: Staged[] | null = null;
    let completed: CompletedTxn[] | null = null;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      if (b.producerId < 0n) continue;
      if (origin === 'client' && b.marker === undefined) {
        const entry = this.producers.get(b.producerId);
        const dup = entry?.findDuplicate(b.producerEpoch, b.baseSequence, incrementSequence(b.baseSequence, b.lastOffsetDelta));
        if (dup) return { kind: 'duplicate', batch: dup };
      }
      staged ??= [];
      let s = staged.find((x) => x.producerId === b.producerId);
      if (!s) {
        s = this.stage(b.producerId);
        staged.push(s);
      }
      try {
        if (b.marker !== undefined) {
          const done = this.stageMarker(s, b, origin, transactionVersion);
          if (done) (completed ??= []).push(done);
        } else {
          this.stageData(s, b, origin);
        }
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        return { kind: 'error', error: err.error, message: err.message, batchIndex: i };
      }
    }
    if (!staged) return NOTHING;
    return { kind: 'ok', staged, completed: completed ?? [] };
  }

  private stage(producerId: bigint): Staged {
    const entry = this.producers.get(producerId);
    const current = entry ?? ProducerStateEntry.empty(producerId);
    return {
      producerId,
      current,
      known: entry !== undefined,
      epoch: current.epoch,
      coordinatorEpoch: current.coordinatorEpoch,
      lastTimestamp: current.lastTimestamp,
      currentTxnFirstOffset: current.currentTxnFirstOffset,
      batches: [],
      startedTxn: -1n,
    };
  }

  private checkEpoch(s: Staged, epoch: number, offset: bigint, origin: AppendOrigin, transactionVersion: number): void {
    const invalid = transactionVersion >= 2 ? epoch <= s.epoch : epoch < s.epoch;
    if (!invalid || origin === 'replication') return;
    // A TV2 marker retried after it already ended the transaction is written again (KAFKA-19999).
    if (transactionVersion >= 2 && epoch === s.epoch && s.currentTxnFirstOffset < 0n) return;
    throw new Refusal(
      'INVALID_PRODUCER_EPOCH',
      `Epoch of producer ${s.producerId} at offset ${offset} in ${this.name} is ${epoch}, which is ${transactionVersion >= 2 ? '<=' : '<'} the last seen epoch ${s.epoch}`,
    );
  }

  private checkSequence(s: Staged, epoch: number, firstSeq: number, offset: bigint): void {
    if (epoch !== s.epoch) {
      if (firstSeq !== 0 && s.epoch !== NO_PRODUCER_EPOCH) {
        throw new Refusal(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `Invalid sequence number for new epoch of producer ${s.producerId} at offset ${offset} in ${this.name}: ${epoch} (request epoch), ${firstSeq} (seq. number), ${s.epoch} (current producer epoch)`,
        );
      }
      return;
    }
    let lastSeq: number;
    if (s.batches.length > 0) lastSeq = s.batches[s.batches.length - 1]!.lastSeq;
    else if (epoch === s.current.epoch) lastSeq = s.current.lastSeq;
    else lastSeq = NO_SEQUENCE;
    // No known epoch (a new producer, or one whose state expired or went with its data): any sequence.
    if (s.current.epoch === NO_PRODUCER_EPOCH || inSequence(lastSeq, firstSeq)) return;
    throw new Refusal(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
      `Out of order sequence number for producer ${s.producerId} at offset ${offset} in ${this.name}: ${firstSeq} (incoming seq. number), ${lastSeq} (current end sequence number)`,
    );
  }

  private stageData(s: Staged, b: ProducerBatch, origin: AppendOrigin): void {
    this.checkEpoch(s, b.producerEpoch, b.firstOffset, origin, 0);
    if (origin === 'client') this.checkSequence(s, b.producerEpoch, b.baseSequence, b.firstOffset);
    if (s.epoch !== b.producerEpoch) {
      s.epoch = b.producerEpoch;
      s.batches = [];
    }
    const lastOffset = b.firstOffset + BigInt(b.lastOffsetDelta);
    const lastSeq = b.baseSequence === NO_SEQUENCE ? NO_SEQUENCE : incrementSequence(b.baseSequence, b.lastOffsetDelta);
    if (s.batches.length >= producerBatchesRetained) s.batches.shift();
    s.batches.push({ lastSeq, lastOffset, offsetDelta: b.lastOffsetDelta, timestamp: b.maxTimestamp });
    s.lastTimestamp = b.maxTimestamp;
    if (s.currentTxnFirstOffset >= 0n && !b.isTransactional) {
      if (origin === 'replication') return;
      throw new Refusal('INVALID_TXN_STATE', `Expected transactional write from producer ${s.producerId} at offset ${b.firstOffset} in partition ${this.name}`);
    }
    if (s.currentTxnFirstOffset < 0n && b.isTransactional) {
      s.currentTxnFirstOffset = b.firstOffset;
      s.startedTxn = b.firstOffset;
    }
  }

  private stageMarker(s: Staged, b: ProducerBatch, origin: AppendOrigin, transactionVersion: number): CompletedTxn | null {
    const m = b.marker;
    if (!m) return null; // an emptied control batch
    this.checkEpoch(s, b.producerEpoch, b.firstOffset, origin, transactionVersion);
    if (s.coordinatorEpoch > m.coordinatorEpoch && origin !== 'replication') {
      throw new Refusal(
        'TRANSACTION_COORDINATOR_FENCED',
        `Invalid coordinator epoch for producerId ${s.producerId} at offset ${b.firstOffset} in partition ${this.name}: ${m.coordinatorEpoch} (zombie), ${s.coordinatorEpoch} (current)`,
      );
    }
    const done: CompletedTxn | null =
      s.currentTxnFirstOffset >= 0n ? { producerId: s.producerId, firstOffset: s.currentTxnFirstOffset, lastOffset: b.firstOffset, aborted: !m.commit } : null;
    if (s.epoch !== b.producerEpoch) {
      s.epoch = b.producerEpoch;
      s.batches = [];
    }
    s.coordinatorEpoch = m.coordinatorEpoch;
    s.currentTxnFirstOffset = -1n;
    s.lastTimestamp = m.timestamp;
    return done;
  }

  /**
   * Applies an analyzed append that was written. Ended transactions leave the open set (an ABORT
   * is reported to `onAbort` with the last stable offset Kafka records in the transaction index)
   * and wait as "unreplicated" until the high watermark passes their marker.
   */
  apply(result: AnalyzeResult, onAbort?: (t: AbortedTxn) => void): void {
    if (result.kind !== 'ok') return;
    for (const s of result.staged) {
      let e = s.known ? this.producers.get(s.producerId) : undefined;
      if (!e) {
        e = ProducerStateEntry.empty(s.producerId);
        this.producers.set(s.producerId, e);
      }
      e.setEpoch(s.epoch);
      for (const b of s.batches) e.addBatch(b);
      e.coordinatorEpoch = s.coordinatorEpoch;
      e.currentTxnFirstOffset = s.currentTxnFirstOffset;
      e.lastTimestamp = s.lastTimestamp;
      if (s.startedTxn >= 0n) this.ongoing.set(s.producerId, s.startedTxn);
    }
    for (const t of result.completed) {
      if (t.aborted) onAbort?.({ producerId: t.producerId, firstOffset: t.firstOffset, lastOffset: t.lastOffset, lastStableOffset: this.lastStableOffsetAfter(t) });
      this.ongoing.delete(t.producerId);
      this.unreplicated.push({ producerId: t.producerId, firstOffset: t.firstOffset, lastOffset: t.lastOffset });
    }
  }

  /** The LSO once `t` ends: the first open transaction of another producer, else just past the marker. */
  private lastStableOffsetAfter(t: CompletedTxn): bigint {
    for (const [pid, first] of this.ongoing) if (pid !== t.producerId) return first;
    return t.lastOffset + 1n;
  }

  /** Ended transactions whose marker is below the high watermark no longer hold the LSO back. */
  onHighWatermark(hw: bigint): void {
    if (this.unreplicated.length === 0) return;
    this.unreplicated = this.unreplicated.filter((t) => t.lastOffset >= hw);
  }

  /** The first offset of an open or not yet replicated transaction, -1n when none (Kafka's firstUnstableOffset). */
  firstUnstableOffset(): bigint {
    let first = -1n;
    for (const v of this.ongoing.values()) {
      first = v;
      break;
    }
    for (const t of this.unreplicated) if (first < 0n || t.firstOffset < first) first = t.firstOffset;
    return first;
  }

  /** Forgets producers idle for expirationMs (by their last batch or marker timestamp) with no open transaction. */
  removeExpired(nowMs: number): number {
    let n = 0;
    for (const [pid, e] of this.producers) {
      if (this.isExpired(e, nowMs)) {
        this.producers.delete(pid);
        n++;
      }
    }
    return n;
  }

  private isExpired(e: ProducerStateEntry, nowMs: number): boolean {
    return e.currentTxnFirstOffset < 0n && BigInt(nowMs) - e.lastTimestamp >= BigInt(this.expirationMs);
  }

  /** Drops everything (a truncation reloads the state from a snapshot and the log). */
  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
    this.unreplicated = [];
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots: Kafka's `<offset>.snapshot` files

  /**
   * The state as a snapshot file: int16 version 1, uint32 CRC-32C of everything after it, then
   * the ProducerSnapshot entries (the last batch of each producer only, as Kafka keeps).
   */
  encodeSnapshot(): Buffer {
    const producerEntries: ProducerSnapshotProducerEntry[] = [];
    for (const e of this.producers.values()) {
      producerEntries.push({
        producerId: e.producerId,
        epoch: e.epoch,
        lastSequence: e.lastSeq,
        lastOffset: e.lastDataOffset,
        offsetDelta: e.lastOffsetDelta,
        timestamp: e.lastTimestamp,
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnFirstOffset: e.currentTxnFirstOffset,
      });
    }
    const w = new Writer(64 + producerEntries.length * 46);
    w.writeInt16(SNAPSHOT_VERSION);
    ProducerSnapshot.encode(w, { crc: 0, producerEntries }, SNAPSHOT_VERSION);
    const buf = w.toBuffer();
    buf.writeUInt32BE(crc32cOf(buf.subarray(SNAPSHOT_ENTRIES_POS)), SNAPSHOT_CRC_POS);
    return buf;
  }

  /**
   * Replaces the state with a snapshot's (producers already expired at `nowMs` left out, as Kafka
   * does). Throws CorruptSnapshotError for a bad version, CRC or layout.
   */
  loadSnapshot(buf: Buffer, file: string, nowMs: number): void {
    const entries = decodeSnapshot(buf, file);
    this.clear();
    const txns: Array<[bigint, bigint]> = [];
    for (const p of entries) {
      const e = new ProducerStateEntry(p.producerId, p.epoch, p.coordinatorEpoch, p.timestamp, p.currentTxnFirstOffset >= 0n ? p.currentTxnFirstOffset : -1n);
      if (p.lastOffset >= 0n) e.batches.push({ lastSeq: p.lastSequence, lastOffset: p.lastOffset, offsetDelta: p.offsetDelta, timestamp: p.timestamp });
      if (this.isExpired(e, nowMs)) continue;
      this.producers.set(p.producerId, e);
      if (e.currentTxnFirstOffset >= 0n) txns.push([p.producerId, e.currentTxnFirstOffset]);
    }
    txns.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const [pid, first] of txns) this.ongoing.set(pid, first);
  }
}

export class CorruptSnapshotError extends StorageError {
  override readonly name = 'CorruptSnapshotError';
}

const SNAPSHOT_VERSION = 1;
const SNAPSHOT_CRC_POS = 2;
const SNAPSHOT_ENTRIES_POS = 6;
export const SNAPSHOT_SUFFIX = '.snapshot';

export function decodeSnapshot(buf: Buffer, file: string): ProducerSnapshotProducerEntry[] {
  if (buf.length < SNAPSHOT_ENTRIES_POS + 4) throw new CorruptSnapshotError(`snapshot of ${buf.length} bytes is too short`, file);
  const version = buf.readInt16BE(0);
  if (version !== SNAPSHOT_VERSION) throw new CorruptSnapshotError(`snapshot has unknown version ${version}`, file);
  const stored = buf.readUInt32BE(SNAPSHOT_CRC_POS);
  const computed = crc32cOf(buf.subarray(SNAPSHOT_ENTRIES_POS));
  if (stored !== computed) throw new CorruptSnapshotError(`snapshot CRC ${stored} does not match ${computed}`, file);
  try {
    const r = new Reader(buf, SNAPSHOT_CRC_POS);
    const snap = ProducerSnapshot.decode(r, SNAPSHOT_VERSION);
    if (r.remaining !== 0) throw new CorruptSnapshotError(`${r.remaining} bytes after the snapshot's entries`, file);
    return snap.producerEntries;
  } catch (err) {
    if (err instanceof CorruptSnapshotError) throw err;
    throw new CorruptSnapshotError(`snapshot does not parse: ${(err as Error).message}`, file, { cause: err });
  }
}
