/**
 * DescribeLogDirs (key 35), v0-5 (v0 from the 2024 schemas). One log dir (the data dir) with the
 * size of every partition (all, or those asked for), total and usable bytes (v4+). offsetLag is 0:
 * there are no future replicas on one node.
 */
import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DescribeLogDirsRequest, DescribeLogDirsResponse, ErrorCode } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const describeLogDirs = defineHandler({
  request: DescribeLogDirsRequest,
  response: DescribeLogDirsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const byTopic = new Map<string, DescribeLogDirsResponse['results'][number]['topics'][number]>();
    const add = (topic: string, index: number): void => {
      const p = b.replicas.partition(topic, index);
      if (!p) return;
      let entry = byTopic.get(topic);
      if (!entry) byTopic.set(topic, (entry = { name: topic, partitions: [] }));
      entry.partitions.push({ partitionIndex: index, partitionSize: BigInt(p.log.sizeBytes), offsetLag: 0n, isFutureKey: false });
    };
    if (req.topics === null) {
      for (const p of b.replicas.all()) add(p.topic, p.index);
    } else {
      for (const t of req.topics) for (const i of t.partitions) add(t.topic, i);
    }
    let totalBytes = -1n;
    let usableBytes = -1n;
    try {
      const s = await statfs(b.dataDir, { bigint: true });
      totalBytes = s.blocks * s.bsize;
      usableBytes = s.bavail * s.bsize;
    } catch {
      // statfs is best effort; -1 means unknown
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [
        {
          errorCode: ErrorCode.NONE,
          logDir: resolve(b.dataDir),
          topics: [...byTopic.values()],
          totalBytes,
          usableBytes,
          isCordoned: false,
        },
      ],
    };
  },
});
