/**
 * Producer ids, handed out from blocks reserved durably in the metadata store (as Kafka's brokers
 * take blocks of 1,000 from the controller with AllocateProducerIds): an id is never given to two
 * producers, even across crashes — a crash only skips the rest of a block.
 */
import type { MetadataStore } from '../metadata/metadata-store.js';

export const PRODUCER_ID_BLOCK_SIZE = 1000;

export class ProducerIdManager {
  private next = 0n;
  private end = 0n;
  private refill?: Promise<void>;

  constructor(private readonly metadata: MetadataStore) {}

  async generate(): Promise<bigint> {
    while (this.next >= this.end) {
      this.refill ??= this.metadata.allocateProducerIds(PRODUCER_ID_BLOCK_SIZE).then(
        (first) => {
          this.next = first;
          this.end = first + BigInt(PRODUCER_ID_BLOCK_SIZE);
          this.refill = undefined;
        },
        (err: unknown) => {
          this.refill = undefined;
          throw err;
        },
      );
      await this.refill;
    }
    return this.next++;
  }

  /**
   * An id from the current block without waiting, or undefined when the block is used up (a refill
   * is then started, so a retry soon finds one). For the transaction coordinator's synchronous
   * transitions, which cannot wait in the middle.
   */
  tryGenerateNow(): bigint | undefined {
    if (this.next < this.end) return this.next++;
    void this.generate().then(
      (id) => {
        // Put it back: the block starts at id, so the next caller takes it.
        if (id + 1n === this.next) this.next = id;
      },
      () => undefined,
    );
    return undefined;
  }
}
