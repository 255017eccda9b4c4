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
}
