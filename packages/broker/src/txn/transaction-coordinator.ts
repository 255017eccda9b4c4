/**
 * The transaction coordinator (issue 4): transactional ids, their producer ids and epochs, and
 * the transactions in __transaction_state.
 *
 * Today it serves only what idempotent producers need: InitProducerId without a transactional id
 * hands out a new producer id with epoch 0 (Kafka's TransactionCoordinator does the same).
 * Transactional ids get COORDINATOR_NOT_AVAILABLE until the coordinator exists.
 */
import { ErrorCode } from '@fjord/protocol';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { ProducerIdManager } from './producer-ids.js';

export interface InitProducerIdInput {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** The producer's current id and epoch (v3+, KIP-360), -1 when it has none. */
  producerId: bigint;
  producerEpoch: number;
  apiVersion: number;
}

export interface InitProducerIdResult {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface TransactionCoordinatorDeps {
  metadata: MetadataStore;
  logger: Logger;
}

export class TransactionCoordinator {
  readonly producerIds: ProducerIdManager;

  constructor(private readonly deps: TransactionCoordinatorDeps) {
    this.producerIds = new ProducerIdManager(deps.metadata);
  }

  async initProducerId(req: InitProducerIdInput): Promise<InitProducerIdResult> {
    if (req.transactionalId === null) {
      try {
        return { errorCode: 0, producerId: await this.producerIds.generate(), producerEpoch: 0 };
      } catch (err) {
        this.deps.logger.error('producer id allocation failed', { error: err });
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
      }
    }
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
  }

  /**
   * Whether a transactional batch may be appended to the partition (Kafka's transaction
   * verification, KIP-890 part 1): 0, or the error code to answer the Produce with.
   */
  verifyTransactionalProduce(_transactionalId: string | null, _producerId: bigint, _producerEpoch: number, _topic: string, _partition: number, _produceVersion: number): number | Promise<number> {
    return 0;
  }
}
