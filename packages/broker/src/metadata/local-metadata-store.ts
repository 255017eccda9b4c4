import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUuid } from '@fjord/protocol';
import type { MetadataSnapshot, MetadataStore, PartitionState, TopicState } from './metadata-store.js';

const FILE = 'fjord-metadata.json';
const META_PROPERTIES = 'meta.properties';

export class MetadataFileError extends Error {
  override readonly name = 'MetadataFileError';
}

/**
 * Single-node metadata in `<dataDir>/fjord-metadata.json`. Every change is written before the
 * call resolves, so a topic acknowledged as created survives kill -9. Changes are serialized.
 */
export class LocalMetadataStore implements MetadataStore {
  private readonly byName = new Map<string, TopicState>();
  private readonly byId = new Map<string, TopicState>();
  private writeChain: Promise<void> = Promise.resolve();
  private dynamicConfigs: Record<string, Record<string, string>> = {};
  private nextProducerId = 0n;

  private constructor(
    private readonly dataDir: string,
    readonly clusterId: string,
  ) {}

  static async open(dataDir: string, nodeId: number): Promise<LocalMetadataStore> {
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, FILE);
    let snapshot: MetadataSnapshot | undefined;
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      try {
        snapshot = JSON.parse(text) as MetadataSnapshot;
        if (typeof snapshot.clusterId !== 'string' || !Array.isArray(snapshot.topics)) throw new Error('missing clusterId or topics');
        if (snapshot.nextProducerId !== undefined && !/^\d{1,19}$/.test(String(snapshot.nextProducerId))) throw new Error(`nextProducerId is not a producer id: ${JSON.stringify(snapshot.nextProducerId)}`);
      } catch (err) {
        throw new MetadataFileError(`${path} is corrupt (${(err as Error).message}); restore it or remove the data dir`, { cause: err });
      }
    }
    const clusterId = snapshot?.clusterId ?? randomUuid();
    const store = new LocalMetadataStore(dataDir, clusterId);
    for (const t of snapshot?.topics ?? []) store.index(t);
    store.dynamicConfigs = snapshot?.brokerConfigs ?? {};
    if (snapshot?.nextProducerId !== undefined) store.nextProducerId = BigInt(snapshot.nextProducerId);
    if (!snapshot) {
      await store.persist();
      await store.writeMetaProperties(nodeId);
    }
    return store;
  }

  topic(name: string): TopicState | undefined {
    return this.byName.get(name);
  }

  topicById(topicId: string): TopicState | undefined {
    return this.byId.get(topicId);
  }

  topics(): IterableIterator<TopicState> {
    return this.byName.values();
  }

  async createTopic(topic: TopicState): Promise<void> {
    if (this.byName.has(topic.name)) throw new Error(`topic ${topic.name} exists`);
    this.index(topic);
    await this.persist();
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.byName.get(name);
    if (!t) return;
    this.byName.delete(name);
    this.byId.delete(t.topicId);
    await this.persist();
  }

  async addPartitions(name: string, partitions: PartitionState[]): Promise<void> {
    const t = this.byName.get(name);
    if (!t) throw new Error(`unknown topic ${name}`);
    t.partitions.push(...partitions);
    await this.persist();
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.byName.get(name);
    if (!t) throw new Error(`unknown topic ${name}`);
    t.configs = { ...configs };
    await this.persist();
  }

  brokerConfigs(scope: string): Record<string, string> {
    return { ...(this.dynamicConfigs[scope] ?? {}) };
  }

  async setBrokerConfigs(scope: string, configs: Record<string, string>): Promise<void> {
    this.dynamicConfigs = { ...this.dynamicConfigs, [scope]: { ...configs } };
    await this.persist();
  }

  async allocateProducerIds(count: number): Promise<bigint> {
    const first = this.nextProducerId;
    this.nextProducerId += BigInt(count);
    await this.persist();
    return first;
  }

  async close(): Promise<void> {
    await this.writeChain;
  }

  private index(t: TopicState): void {
    this.byName.set(t.name, t);
    this.byId.set(t.topicId, t);
  }

  private persist(): Promise<void> {
    const snapshot: MetadataSnapshot = { clusterId: this.clusterId, topics: [...this.byName.values()], brokerConfigs: this.dynamicConfigs, nextProducerId: String(this.nextProducerId) };
    const text = JSON.stringify(snapshot, null, 1);
    const next = this.writeChain.then(() => atomicWrite(this.dataDir, FILE, text));
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  private async writeMetaProperties(nodeId: number): Promise<void> {
    const text = [
      '#',
      `#${new Date().toUTCString()}`,
      `node.id=${nodeId}`,
      `directory.id=${randomUuid()}`,
      'version=1',
      `cluster.id=${this.clusterId}`,
      '',
    ].join('\n');
    await atomicWrite(this.dataDir, META_PROPERTIES, text);
  }
}

async function atomicWrite(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export type { PartitionState, TopicState };
