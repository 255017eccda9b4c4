/**
 * Consumer groups of the new protocol (KIP-848): ConsumerGroupHeartbeat and ConsumerGroupDescribe,
 * server-side assignors, incremental reconciliation with member epochs.
 *
 * Placeholder: the group type is not served yet (ConsumerGroupHeartbeat is not advertised).
 */
import type { GroupCoordinator } from './coordinator.js';

export class ConsumerGroups {
  constructor(private readonly coordinator: GroupCoordinator) {}

  /** Applies one consumer-group record read back from __consumer_offsets at start-up. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  replay(_partition: number, _recordType: number, _key: any, _value: any): void {
    void this.coordinator;
  }

  /** Called once every record is replayed: start session timers. */
  afterLoad(): void {}
}
