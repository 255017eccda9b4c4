/** `fjord topics list|create|describe|alter|delete|add-partitions`. */
import type { Admin, ConfigEntry, TopicDescription } from '@fjord/client';
import { commonHelp, exitCodes, positionals, printJson, printTable, requireTopics, unknownTopic, withAdmin } from '../common.js';
import { CliError, intFlag, keyValueFlag, listFlag } from '../flags.js';
import type { Group, Leaf } from '../command.js';

/** Kafka's ConfigSource ids, by the short names the CLI prints. */
export const configSources: Record<number, string> = {
  0: 'unknown',
  1: 'topic',
  2: 'broker',
  3: 'cluster-default',
  4: 'static',
  5: 'default',
  6: 'logger',
  7: 'client-metrics',
  8: 'group',
};

const list: Leaf = {
  name: 'list',
  summary: 'list topics with their partition count and replication factor',
  flags: { json: 'boolean', internal: 'boolean' },
  help: `Usage: fjord topics list [--internal] [--json]

Lists topics (sorted by name) with their partition count and replication factor.

Options:
  --internal   include internal topics (__consumer_offsets, __transaction_state)
  --json       [{"name", "partitions", "replicationFactor", "internal"}]

Examples:
  fjord topics list
  fjord topics list --json | jq -r '.[].name'

${commonHelp}`,
  async run(ctx) {
    const topics = await withAdmin(ctx, async (admin) => {
      const names = await admin.listTopics({ includeInternal: ctx.flags.internal === true });
      return names.length === 0 ? [] : admin.describeTopics(names);
    });
    const rows = topics.map((t) => ({ name: t.name, partitions: t.partitions.length, replicationFactor: t.partitions[0]?.replicas.length ?? 0, internal: t.isInternal }));
    if (ctx.json) printJson(rows);
    else printTable(['NAME', 'PARTITIONS', 'REPLICAS'], rows.map((r) => [r.name, r.partitions, r.replicationFactor]));
    return 0;
  },
};

const create: Leaf = {
  name: 'create',
  summary: 'create topics',
  flags: { partitions: 'string', 'replication-factor': 'string', config: 'list', 'if-not-exists': 'boolean', 'dry-run': 'boolean' },
  short: { p: 'partitions', r: 'replication-factor', c: 'config' },
  help: `Usage: fjord topics create TOPIC... [options]

Creates topics (all with the same settings).

Options:
  -p, --partitions N            partitions (default: the broker's num.partitions)
  -r, --replication-factor N    replicas per partition (default: the broker's default.replication.factor)
  -c, --config KEY=VALUE        a topic config (retention.ms, cleanup.policy, ...); repeatable
      --if-not-exists           succeed if the topic exists already
      --dry-run                 only validate (CreateTopics validateOnly)

Examples:
  fjord topics create orders --partitions 6
  fjord topics create audit -p 1 -c cleanup.policy=compact -c retention.ms=-1
  fjord topics create scratch --if-not-exists

${commonHelp}`,
  async run(ctx) {
    const names = positionals(ctx, 'TOPIC...', 1, Infinity);
    const numPartitions = intFlag(ctx.flags, 'partitions', { min: 1, max: 2_147_483_647 });
    const replicationFactor = intFlag(ctx.flags, 'replication-factor', { min: 1, max: 32_767 });
    const configs = Object.fromEntries(keyValueFlag(ctx.flags, 'config'));
    const dryRun = ctx.flags['dry-run'] === true;
    await withAdmin(ctx, (admin) =>
      admin.createTopics(
        names.map((name) => ({ name, ...(numPartitions === undefined ? {} : { numPartitions }), ...(replicationFactor === undefined ? {} : { replicationFactor }), configs })),
        { ifNotExists: ctx.flags['if-not-exists'] === true, validateOnly: dryRun, timeoutMs: ctx.timeoutMs },
      ),
    );
    for (const n of names) process.stdout.write(`${dryRun ? 'would create' : 'created'} topic '${n}'\n`);
    return 0;
  },
};

interface DescribedTopic {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: Array<{ partition: number; leader: number; leaderEpoch: number; replicas: number[]; isr: number[]; startOffset: bigint; endOffset: bigint }>;
  configs: Record<string, string | null>;
  configSources: Record<string, string>;
}

async function describeTopics(admin: Admin, names: string[]): Promise<DescribedTopic[]> {
  const descriptions = await requireTopics(admin, names);
  const tps = descriptions.flatMap((d) => d.partitions.map((p) => ({ topic: d.name, partition: p.partition })));
  const [starts, ends, configs] = await Promise.all([
    tps.length ? admin.listOffsets(tps.map((p) => ({ ...p, spec: 'earliest' as const }))) : [],
    tps.length ? admin.listOffsets(tps.map((p) => ({ ...p, spec: 'latest' as const }))) : [],
    admin.describeConfigs(names.map((name) => ({ type: 'topic' as const, name }))),
  ]);
  const at = (list: Array<{ topic: string; partition: number; offset: bigint }>) => new Map(list.map((r) => [`${r.topic}\0${r.partition}`, r.offset]));
  const [s, e] = [at(starts), at(ends)];
  return descriptions.map((d: TopicDescription, i) => {
    const overrides = (configs[i]?.entries ?? []).filter((c: ConfigEntry) => !c.isDefault);
    return {
      name: d.name,
      topicId: d.topicId,
      internal: d.isInternal,
      partitions: d.partitions.map((p) => ({
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        startOffset: s.get(`${d.name}\0${p.partition}`) ?? -1n,
        endOffset: e.get(`${d.name}\0${p.partition}`) ?? -1n,
      })),
      configs: Object.fromEntries(overrides.map((c) => [c.name, c.isSensitive ? null : c.value])),
      configSources: Object.fromEntries(overrides.map((c) => [c.name, configSources[c.source] ?? String(c.source)])),
    };
  });
}

const describe: Leaf = {
  name: 'describe',
  summary: 'partitions, leaders, replicas, ISR, offsets and non-default configs of topics',
  positional: '@topic',
  flags: { json: 'boolean' },
  help: `Usage: fjord topics describe TOPIC... [--json]

Shows each partition's leader, replicas, in-sync replicas, start (log start) and end (high
watermark) offsets, and the topic's configs that differ from the defaults (with their source).

Options:
  --json   [{"name", "topicId", "internal", "partitions": [{"partition", "leader", "leaderEpoch",
           "replicas", "isr", "startOffset", "endOffset"}], "configs": {name: value},
           "configSources": {name: "topic"|"broker"|"static"|...}}]

Examples:
  fjord topics describe orders
  fjord topics describe orders --json | jq '.[0].partitions[] | .endOffset - .startOffset'

${commonHelp}`,
  async run(ctx) {
    const names = positionals(ctx, 'TOPIC...', 1, Infinity);
    const topics = await withAdmin(ctx, (admin) => describeTopics(admin, names));
    if (ctx.json) {
      printJson(topics);
      return 0;
    }
    topics.forEach((t, i) => {
      if (i > 0) process.stdout.write('\n');
      const rf = t.partitions[0]?.replicas.length ?? 0;
      process.stdout.write(`Topic: ${t.name}  id: ${t.topicId}  partitions: ${t.partitions.length}  replication: ${rf}${t.internal ? '  (internal)' : ''}\n`);
      const cfg = Object.entries(t.configs);
      process.stdout.write(`Configs: ${cfg.length === 0 ? '(all defaults)' : cfg.map(([k, v]) => `${k}=${v ?? '(sensitive)'} (${t.configSources[k]})`).join(', ')}\n`);
      printTable(
        ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'START', 'END'],
        t.partitions.map((p) => [p.partition, p.leader, p.leaderEpoch, p.replicas.join(','), p.isr.join(','), p.startOffset, p.endOffset]),
      );
    });
    return 0;
  },
};

const alter: Leaf = {
  name: 'alter',
  summary: 'set or delete topic configs (IncrementalAlterConfigs)',
  positional: '@topic',
  flags: { config: 'list', 'delete-config': 'list', 'dry-run': 'boolean' },
  short: { c: 'config' },
  help: `Usage: fjord topics alter TOPIC [--config KEY=VALUE]... [--delete-config KEY]...

Changes the named configs of a topic and leaves the others as they are (IncrementalAlterConfigs).
A deleted config falls back to the broker's default.

Options:
  -c, --config KEY=VALUE    set a config; repeatable
      --delete-config KEY   remove an override; repeatable
      --dry-run             only validate

Examples:
  fjord topics alter orders --config retention.ms=86400000
  fjord topics alter orders --delete-config retention.ms -c cleanup.policy=compact

${commonHelp}`,
  async run(ctx) {
    const [topic] = positionals(ctx, 'TOPIC', 1);
    const sets = keyValueFlag(ctx.flags, 'config');
    const deletes = listFlag(ctx.flags, 'delete-config');
    if (sets.length === 0 && deletes.length === 0) throw new CliError(`nothing to change: give --config KEY=VALUE or --delete-config KEY (see 'fjord topics alter --help')`);
    const ops = [...sets.map(([name, value]) => ({ name, op: 'set' as const, value })), ...deletes.map((name) => ({ name, op: 'delete' as const }))];
    await withAdmin(ctx, async (admin) => {
      await requireTopics(admin, [topic!]);
      await admin.incrementalAlterConfigs([{ type: 'topic', name: topic!, ops }], { validateOnly: ctx.flags['dry-run'] === true });
    });
    const what = [...sets.map(([k, v]) => `set ${k}=${v}`), ...deletes.map((k) => `deleted ${k}`)].join(', ');
    process.stdout.write(`${ctx.flags['dry-run'] ? 'would alter' : 'altered'} topic '${topic}': ${what}\n`);
    return 0;
  },
};

const remove: Leaf = {
  name: 'delete',
  summary: 'delete topics',
  positional: '@topic',
  flags: { 'if-exists': 'boolean' },
  help: `Usage: fjord topics delete TOPIC... [--if-exists]

Deletes topics and all their records.

Options:
  --if-exists   succeed for topics that do not exist

Examples:
  fjord topics delete scratch
  fjord topics delete a b c --if-exists

${commonHelp}`,
  async run(ctx) {
    const names = positionals(ctx, 'TOPIC...', 1, Infinity);
    const deleted = await withAdmin(ctx, async (admin) => {
      const existing = new Set(await admin.listTopics({ includeInternal: true }));
      const missing = names.filter((n) => !existing.has(n));
      if (missing.length > 0 && ctx.flags['if-exists'] !== true) throw unknownTopic(missing[0]!);
      const present = names.filter((n) => existing.has(n));
      if (present.length > 0) await admin.deleteTopics(present, { timeoutMs: ctx.timeoutMs });
      return present;
    });
    for (const n of deleted) process.stdout.write(`deleted topic '${n}'\n`);
    return 0;
  },
};

const addPartitions: Leaf = {
  name: 'add-partitions',
  summary: 'add partitions to a topic',
  positional: '@topic',
  flags: { count: 'string', total: 'string', 'dry-run': 'boolean' },
  short: { n: 'count' },
  help: `Usage: fjord topics add-partitions TOPIC (--count N | --total N)

Adds partitions to a topic (a topic never loses partitions). Keyed records may map to other
partitions afterwards.

Options:
  -n, --count N   add N partitions
      --total N   grow to N partitions in all
      --dry-run   only validate

Examples:
  fjord topics add-partitions orders --count 2
  fjord topics add-partitions orders --total 12

${commonHelp}`,
  async run(ctx) {
    const [topic] = positionals(ctx, 'TOPIC', 1);
    const add = intFlag(ctx.flags, 'count', { min: 1, max: 1_000_000 });
    const total = intFlag(ctx.flags, 'total', { min: 1, max: 2_147_483_647 });
    if ((add === undefined) === (total === undefined)) throw new CliError(`give exactly one of --count N (partitions to add) or --total N (see 'fjord topics add-partitions --help')`);
    const { from, to } = await withAdmin(ctx, async (admin) => {
      const [d] = await requireTopics(admin, [topic!]);
      const current = d!.partitions.length;
      const target = total ?? current + add!;
      if (target <= current) throw new CliError(`--total ${target} is not more than the ${current} partitions topic '${topic}' has (a topic cannot lose partitions)`, exitCodes.failed);
      await admin.createPartitions([{ topic: topic!, count: target }], { validateOnly: ctx.flags['dry-run'] === true, timeoutMs: ctx.timeoutMs });
      return { from: current, to: target };
    });
    process.stdout.write(`${ctx.flags['dry-run'] ? 'would grow' : 'grew'} topic '${topic}' from ${from} to ${to} partitions\n`);
    return 0;
  },
};

export const topicsCommand: Group = {
  name: 'topics',
  summary: 'list, create, describe, alter and delete topics',
  subcommands: [list, create, describe, alter, remove, addPartitions],
};
