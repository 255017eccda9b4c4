// KafkaJS driver. KafkaJS ships only GZIP; like its users, we plug in codecs for snappy (the Java
// client's xerial framing), lz4 (frame format) and zstd, written here over the native modules that
// are already in node_modules. KafkaJS has no group-less consumer (a groupId and FindCoordinator are
// mandatory), so its consumer is tested only in groups, as a member process of its own
// (test/clients/kafkajs-member.ts, driven by test/harness/members.ts).
import kafkajs from 'kafkajs';
import type { Kafka as KafkaType, logLevel as LogLevelType, CompressionTypes as CompressionTypesType } from 'kafkajs';
import type { Codec } from './kcat.js';
import type { ReadRecord, TestRecord } from './records.js';

const { Kafka, logLevel, CompressionTypes, CompressionCodecs, Partitioners } = kafkajs as unknown as {
  Kafka: typeof KafkaType;
  logLevel: typeof LogLevelType;
  CompressionTypes: typeof CompressionTypesType;
  CompressionCodecs: Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>;
  Partitioners: { DefaultPartitioner: any };
};
export { Kafka, CompressionTypes, Partitioners };

const xerialMagic = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** Codecs KafkaJS can use in this checkout, with the reason for any that cannot be loaded. */
export async function kafkajsCodecs(): Promise<{ available: Codec[]; missing: Record<string, string> }> {
  const available: Codec[] = ['none', 'gzip'];
  const missing: Record<string, string> = {};
  try {
    const snappy = (await import('snappy')) as typeof import('snappy');
    CompressionCodecs[CompressionTypes.Snappy] = () => ({
      async compress(encoder) {
        // xerial framing as the Java client's SnappyOutputStream writes it: header, then
        // (int32 length, raw block) pairs of at most 32 KiB input each.
        const input = encoder.buffer;
        const header = Buffer.alloc(16);
        xerialMagic.copy(header, 0);
        header.writeInt32BE(1, 8);
        header.writeInt32BE(1, 12);
        const parts: Buffer[] = [header];
        for (let i = 0; i < input.length || i === 0; i += 32 * 1024) {
          const block = snappy.compressSync(input.subarray(i, i + 32 * 1024));
          const len = Buffer.alloc(4);
          len.writeInt32BE(block.length, 0);
          parts.push(len, block);
          if (input.length === 0) break;
        }
        return Buffer.concat(parts);
      },
      async decompress(buffer) {
        if (buffer.length >= 16 && buffer.subarray(0, 8).equals(xerialMagic)) {
          const parts: Buffer[] = [];
          let pos = 16;
          while (pos + 4 <= buffer.length) {
            const len = buffer.readInt32BE(pos);
            pos += 4;
            parts.push(snappy.uncompressSync(buffer.subarray(pos, pos + len)) as Buffer);
            pos += len;
          }
          return Buffer.concat(parts);
        }
        return snappy.uncompressSync(buffer) as Buffer;
      },
    });
    available.push('snappy');
  } catch (e) {
    missing['snappy'] = (e as Error).message;
  }
  try {
    const lz4 = (await import('lz4-napi')) as typeof import('lz4-napi');
    CompressionCodecs[CompressionTypes.LZ4] = () => ({
      compress: async (encoder) => lz4.compressFrameSync(encoder.buffer),
      decompress: async (buffer) => lz4.decompressFrameSync(buffer),
    });
    available.push('lz4');
  } catch (e) {
    missing['lz4'] = (e as Error).message;
  }
  try {
    const zstd = (await import('zstd-napi')) as typeof import('zstd-napi');
    CompressionCodecs[CompressionTypes.ZSTD] = () => ({
      compress: async (encoder) => zstd.compress(encoder.buffer),
      decompress: async (buffer) => zstd.decompress(buffer),
    });
    available.push('zstd');
  } catch (e) {
    missing['zstd'] = (e as Error).message;
  }
  return { available, missing };
}

export const kafkajsCompression: Record<Codec, number> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

export interface KafkaJsHandle {
  kafka: KafkaType;
  /** Log lines KafkaJS emitted at WARN/ERROR, for failure messages. */
  log: string[];
}

export function makeKafkaJs(bootstrap: string, clientId = 'fjord-compat-kafkajs'): KafkaJsHandle {
  const log: string[] = [];
  const kafka = new Kafka({
    clientId,
    brokers: [bootstrap],
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: { level: number; log: { message: string; [k: string]: unknown } }) => {
      if (log.length < 200) log.push(`${entry.level} ${JSON.stringify(entry.log)}`);
    },
  });
  return { kafka, log };
}

/** Produce with the Java-compatible default partitioner (murmur2); returns [partition, baseOffset] per send. */
export async function kafkajsProduce(
  bootstrap: string,
  topic: string,
  records: readonly TestRecord[],
  { codec = 'none', acks = -1, batchSize = 250 }: { codec?: Codec; acks?: number; batchSize?: number } = {},
): Promise<Array<{ partition: number; baseOffset: string; errorCode: number }>> {
  const { kafka, log } = makeKafkaJs(bootstrap);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const results: Array<{ partition: number; baseOffset: string; errorCode: number }> = [];
  try {
    // Sequential sends keep per-partition order identical to the record order.
    for (let i = 0; i < records.length; i += batchSize) {
      const chunk = records.slice(i, i + batchSize);
      const res = await producer.send({
        topic,
        acks,
        compression: kafkajsCompression[codec],
        messages: chunk.map((r) => {
          const headers: Record<string, string[]> = {};
          for (const [k, v] of r.headers) {
            if (v === null) throw new Error('kafkajsProduce: KafkaJS cannot send a null header value');
            (headers[k] ??= []).push(v);
          }
          return {
            key: r.key,
            value: r.value,
            headers,
            ...(r.timestamp === undefined ? {} : { timestamp: String(r.timestamp) }),
            ...(r.partition === undefined ? {} : { partition: r.partition }),
          };
        }),
      });
      for (const m of res) results.push({ partition: m.partition, baseOffset: m.baseOffset ?? '-1', errorCode: m.errorCode });
    }
  } catch (e) {
    throw new Error(`KafkaJS produce to ${topic} (${codec}) failed: ${(e as Error).message}\n${log.join('\n')}`, { cause: e });
  } finally {
    await producer.disconnect();
  }
  return results;
}

export type { ReadRecord };
