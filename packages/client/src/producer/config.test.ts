import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { resolveProducerConfig, type ProducerConfig } from './config.js';

const base = { bootstrapServers: 'localhost:9092' };

function rejects(config: Record<string, unknown>, option: string): void {
  assert.throws(
    () => resolveProducerConfig({ ...base, ...config } as ProducerConfig),
    (e: unknown) => e instanceof ConfigError && e.option === option && e.message.includes(option) && e.retriable === false,
    `${JSON.stringify(config)} should be rejected naming ${option}`,
  );
}

describe('producer config', () => {
  it('defaults: idempotent, acks all, linger 5, Kafka limits', () => {
    const c = resolveProducerConfig(base);
    assert.equal(c.idempotent, true);
    assert.equal(c.acks, -1);
    assert.equal(c.lingerMs, 5);
    assert.equal(c.batchBytes, 16384);
    assert.equal(c.batchMaxBytes, 1_048_576); // min(maxRequestBytes, 64 × batchBytes)
    assert.equal(resolveProducerConfig({ ...base, batchBytes: 1000 }).batchMaxBytes, 64_000);
    assert.equal(c.maxInFlightPerPartition, 5);
    assert.deepEqual(c.client.bootstrap, [{ host: 'localhost', port: 9092 }]);
  });

  it('acks 1 turns implicit idempotence off and keeps one batch in flight per partition', () => {
    const c = resolveProducerConfig({ ...base, acks: 1 });
    assert.equal(c.idempotent, false);
    assert.equal(c.maxInFlightPerPartition, 1);
  });

  it('names the option in every bad value', () => {
    rejects({ lingerMs: -1 }, 'lingerMs');
    rejects({ lingerMs: 1.5 }, 'lingerMs');
    rejects({ batchBytes: '16k' }, 'batchBytes');
    rejects({ acks: 2 }, 'acks');
    rejects({ compression: 'brotli' }, 'compression');
    rejects({ compression: 'snappy', compressionLevel: 3 }, 'compressionLevel');
    rejects({ idempotent: true, acks: 1 }, 'acks');
    rejects({ idempotent: true, maxInFlightPerPartition: 6 }, 'maxInFlightPerPartition');
    rejects({ idempotent: 'yes' }, 'idempotent');
    rejects({ requestTimeoutMs: 0 }, 'requestTimeoutMs');
    rejects({ deliveryTimeoutMs: 1000 }, 'deliveryTimeoutMs');
    rejects({ bootstrapServers: [] }, 'bootstrapServers');
    rejects({ bootstrapServers: 'nohost' }, 'bootstrapServers');
    rejects({ bootstrapServers: 'h:99999' }, 'bootstrapServers');
    rejects({ reconnectBackoffMs: 500, reconnectBackoffMaxMs: 100 }, 'reconnectBackoffMaxMs');
    rejects({ partitioner: 'murmur2' }, 'partitioner');
  });

  it('parses several bootstrap addresses, IPv6 in brackets', () => {
    const c = resolveProducerConfig({ ...base, bootstrapServers: 'a:1,[::1]:2, b:3' });
    assert.deepEqual(c.client.bootstrap, [{ host: 'a', port: 1 }, { host: '::1', port: 2 }, { host: 'b', port: 3 }]);
  });
});
