// Producer ids come from blocks reserved durably: never handed out twice, across restarts too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMetadataStore } from '../metadata/local-metadata-store.js';
import { PRODUCER_ID_BLOCK_SIZE, ProducerIdManager } from './producer-ids.js';

test('ids are unique within a block, across blocks and across a restart (a restart skips the rest of a block)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-pid-'));
  try {
    let store = await LocalMetadataStore.open(dir, 1);
    let ids = new ProducerIdManager(store);
    const seen = new Set<bigint>();
    const first = await Promise.all(Array.from({ length: PRODUCER_ID_BLOCK_SIZE + 5 }, () => ids.generate()));
    for (const id of first) seen.add(id);
    assert.equal(seen.size, PRODUCER_ID_BLOCK_SIZE + 5, 'concurrent callers got distinct ids');
    await store.close();
    store = await LocalMetadataStore.open(dir, 1);
    ids = new ProducerIdManager(store);
    const after = await ids.generate();
    assert.equal(after, BigInt(2 * PRODUCER_ID_BLOCK_SIZE), 'the next block after the two reserved');
    assert.ok(!seen.has(after));
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a metadata file whose next producer id is not a number is reported as corrupt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-pid-'));
  try {
    const store = await LocalMetadataStore.open(dir, 1);
    await store.close();
    const file = join(dir, 'fjord-metadata.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.nextProducerId = 'x1';
    writeFileSync(file, JSON.stringify(doc));
    await assert.rejects(LocalMetadataStore.open(dir, 1), /nextProducerId is not a producer id/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
