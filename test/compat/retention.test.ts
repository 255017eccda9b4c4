// Acceptance: retention observed on real segments. Small segment.bytes, a fast
// log.retention.check.interval.ms and no file-delete delay: retention.ms deletes segments whose newest
// record is too old (their files disappear, the log start offset moves, ListOffsets earliest follows),
// and retention.bytes trims the oldest segments down to the limit. The data that remains is intact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume } from '../harness/kcat.js';
import { consumeCk, createTopics, produceCk, watermarksCk } from '../harness/fixtures.js';
import { partitionDir, segmentName, segments } from '../harness/datadir.js';
import { waitFor } from '../harness/util.js';
import { py } from '../harness/python.js';

const segmentBytes = 65_536;
const pad = 'r'.repeat(1000);
let broker: Broker;

before(async () => {
  broker = await startBroker({
    configs: { 'log.retention.check.interval.ms': 300, 'log.segment.delete.delay.ms': 0, 'log.cleaner.backoff.ms': 200 },
  });
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

describe('retention', () => {
  test('retention.ms deletes old segments: files gone, log start offset moves, the rest is intact', { timeout: 120_000 }, async () => {
    const topic = 'ret-time';
    // Retention is switched on only once the segments are counted: with it on from the start, the
    // 300 ms retention check may delete old segments while they are still being written.
    await createTopics(broker.bootstrap, [{ name: topic, config: { 'segment.bytes': String(segmentBytes), 'retention.ms': '-1' } }]);
    const now = Date.now();
    const old = Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: `old-${i}-${pad}`, headers: [], partition: 0, timestamp: now - 7_200_000 + i }));
    const fresh = Array.from({ length: 20 }, (_, i) => ({ key: `n${i}`, value: `new-${i}-${pad}`, headers: [], partition: 0, timestamp: now + i }));
    await produceCk(broker.bootstrap, topic, [...old, ...fresh], { config: { 'batch.num.messages': 10, 'linger.ms': 0 } });

    const segsBefore = await segments(broker.dataDir, topic, 0);
    assert.ok(segsBefore.length >= 5, `expected several segments with segment.bytes=${segmentBytes}, found ${segsBefore.map((s) => s.name).join(', ')}`);
    const altered = await py('ck', 'alter_configs', { bootstrap: broker.bootstrap, resources: [{ type: 'topic', name: topic, configs: { 'segment.bytes': String(segmentBytes), 'retention.ms': '3600000' } }] });
    assert.deepEqual(altered.results, { [topic]: null });

    const start = await waitFor(
      'the log start offset to move past the old segments',
      async () => {
        const [low] = (await watermarksCk(broker.bootstrap, topic, [0]))[0]!;
        return low > 0 ? low : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // Segments holding only old records go; the one holding the first new record stays.
    const recordsPerSegment = Math.ceil(segmentBytes / 1000);
    await waitFor('every fully expired segment to be deleted', async () => {
      const [low] = (await watermarksCk(broker.bootstrap, topic, [0]))[0]!;
      return 400 - low < recordsPerSegment + 10 ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    const [low, high] = (await watermarksCk(broker.bootstrap, topic, [0]))[0]!;
    assert.ok(start > 0 && low <= 400, `log start offset ${low} must be in (0, 400]`);
    assert.equal(high, 420);

    const segsAfter = await waitFor('deleted segment files to be removed', async () => {
      const s = await segments(broker.dataDir, topic, 0);
      return s[0]?.baseOffset === low ? s : undefined;
    }, { timeoutMs: 15_000 });
    for (const s of segsBefore.filter((x) => x.baseOffset < low)) {
      for (const ext of ['log', 'index', 'timeindex']) {
        const f = join(partitionDir(broker.dataDir, topic, 0), segmentName(s.baseOffset, ext));
        assert.ok(!existsSync(f), `${f} still exists after its segment was deleted`);
      }
    }
    assert.ok(segsAfter.every((s) => s.baseOffset >= low));

    const rest = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
    assert.equal(rest[0]?.offset, low, 'consuming from the beginning starts at the log start offset');
    assert.equal(rest.length, 420 - low);
    assert.ok(rest.every((r, i) => r.offset === low + i && r.value === (r.offset < 400 ? `old-${r.offset}-${pad}` : `new-${r.offset - 400}-${pad}`)));
    // An old offset is out of range now; kcat from "beginning" also starts at the new start.
    const k = await kcatConsume(broker.bootstrap, topic, { partition: 0, count: 1 });
    assert.equal(k[0]?.offset, low);
  });

  test('retention.bytes trims the oldest segments to the limit', { timeout: 120_000 }, async () => {
    const topic = 'ret-size';
    const retentionBytes = 200_000;
    await createTopics(broker.bootstrap, [{ name: topic, config: { 'segment.bytes': String(segmentBytes), 'retention.bytes': String(retentionBytes) } }]);
    const records = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: `v-${i}-${pad}`, headers: [], partition: 0 }));
    await produceCk(broker.bootstrap, topic, records, { config: { 'batch.num.messages': 10, 'linger.ms': 0 } });
    const total = async (): Promise<number> => (await segments(broker.dataDir, topic, 0)).reduce((n, s) => n + s.bytes, 0);
    await waitFor('retention.bytes to be enforced', async () => ((await total()) <= retentionBytes + segmentBytes ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 500,
    }).catch(async (e) => {
      throw new Error(`${(e as Error).message}; on disk: ${await total()} bytes in ${(await segments(broker.dataDir, topic, 0)).length} segments`);
    });
    assert.ok((await total()) >= retentionBytes - segmentBytes, `retention deleted too much: ${await total()} bytes left`);
    const [low, high] = (await watermarksCk(broker.bootstrap, topic, [0]))[0]!;
    assert.ok(low > 0, 'log start offset moved');
    assert.equal(high, 1000);
    const segs = await segments(broker.dataDir, topic, 0);
    assert.equal(segs[0]?.baseOffset, low, 'the first remaining segment starts at the log start offset');
    const rest = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
    assert.equal(rest.length, 1000 - low);
    assert.ok(rest.every((r, i) => r.offset === low + i && r.value === `v-${r.offset}-${pad}`));
  });
});
