/** `fjord groups list|describe|delete|reset-offsets`. */
import { ErrorCode, KafkaError, type Admin, type PartitionLag, type ResetOffsetsTo, type TopicPartition } from '@fjord/client';
import { commonHelp, exitCodes, positionals, printJson, printTable, requireTopics, withAdmin } from '../common.js';
import { CliError, listFlag, parseBigIntValue, parseIntValue, parseTimeValue, stringFlag } from '../flags.js';
import type { Group, Leaf } from '../command.js';

const list: Leaf = {
  name: 'list',
  summary: 'list consumer groups with their state',
  flags: { json: 'boolean' },
  help: `Usage: fjord groups list [--json]

Lists the groups the brokers know (classic, consumer (KIP-848) and share groups).

Options:
  --json   [{"groupId", "state", "type", "protocolType"}]

Examples:
  fjord groups list
  fjord groups list --json | jq -r '.[] | select(.state == "Empty") | .groupId'

${commonHelp}`,
  async run(ctx) {
    positionals(ctx, '', 0);
    const groups = await withAdmin(ctx, (admin) => admin.listGroups());
    const rows = groups.map((g) => ({ groupId: g.groupId, state: g.state, type: g.type, protocolType: g.protocolType }));
    if (ctx.json) printJson(rows);
    else printTable(['GROUP', 'STATE', 'TYPE', 'PROTOCOL-TYPE'], rows.map((g) => [g.groupId, g.state, g.type, g.protocolType]));
    return 0;
  },
};

async function describeGroup(admin: Admin, groupId: string) {
  // A group that does not exist is Dead with no offsets (Kafka), or GROUP_ID_NOT_FOUND (newer brokers).
  const notFound = (e: unknown): boolean => e instanceof KafkaError && e.code === ErrorCode.GROUP_ID_NOT_FOUND;
  const d = await admin.describeGroups([groupId]).then((r) => r[0], (e: unknown) => {
    if (notFound(e)) return undefined;
    throw e;
  });
  const lag: PartitionLag[] = await admin.groupLag(groupId).catch((e: unknown) => {
    if (notFound(e)) return [];
    throw e;
  });
  // The admin describes classic and KIP-848 (consumer) groups; a share group is Dead to it, so its
  // state and type come from ListGroups (its members are not shown).
  let listed: { state: string; type: string; protocolType: string } | undefined;
  if (!d || d.state === 'Dead') listed = (await admin.listGroups()).find((g) => g.groupId === groupId);
  return {
    groupId,
    type: listed?.type ?? d?.type ?? 'classic',
    state: listed?.state ?? d?.state ?? 'Dead',
    protocolType: listed?.protocolType ?? d?.protocolType ?? '',
    protocol: d?.protocol ?? '',
    members: d?.members ?? [],
    offsets: lag,
    totalLag: lag.reduce((sum, p) => sum + (p.lag ?? 0n), 0n),
  };
}

const describe: Leaf = {
  name: 'describe',
  summary: 'members, committed offsets, log end offsets and lag of groups',
  positional: '@group',
  flags: { json: 'boolean' },
  help: `Usage: fjord groups describe GROUP... [--json]

Shows a group's state, assignor, members (member id, client id, host, assigned partitions), and for every partition
of the topics it has committed offsets for: the committed offset, the log end offset and the lag
(log end - committed; '-' where nothing is committed).

Classic and consumer-protocol (KIP-848) groups list their members; a share group shows its state
and offsets only.

Options:
  --json   [{"groupId", "type", "state", "protocolType", "protocol", "members": [{"memberId",
           "groupInstanceId", "clientId", "clientHost", "assignment": [{"topic", "partition"}]}],
           "offsets": [{"topic", "partition",
           "committed", "logEndOffset", "lag"}], "totalLag"}]

Examples:
  fjord groups describe billing
  fjord groups describe billing --json | jq .totalLag

${commonHelp}`,
  async run(ctx) {
    const ids = positionals(ctx, 'GROUP...', 1, Infinity);
    const groups = await withAdmin(ctx, async (admin) => {
      const out = [];
      for (const id of ids) out.push(await describeGroup(admin, id));
      return out;
    });
    const missing = groups.find((g) => g.state === 'Dead' && g.offsets.length === 0);
    if (missing) throw new CliError(`group '${missing.groupId}' does not exist (see fjord groups list)`, exitCodes.failed);
    if (ctx.json) {
      printJson(groups);
    } else {
      groups.forEach((g, i) => {
        if (i > 0) process.stdout.write('\n');
        const members = g.type === 'classic' || g.type === 'consumer' ? String(g.members.length) : '(not listed for this type)';
        process.stdout.write(`Group: ${g.groupId}  type: ${g.type}  state: ${g.state}  protocol: ${g.protocolType || '-'}/${g.protocol || '-'}  members: ${members}  total lag: ${g.totalLag}\n`);
        if (g.members.length > 0) printTable(['MEMBER', 'INSTANCE', 'CLIENT', 'HOST', 'ASSIGNMENT'], g.members.map((m) => [m.memberId, m.groupInstanceId, m.clientId, m.clientHost, formatAssignment(m.assignment)]));
        if (g.offsets.length > 0) {
          if (g.members.length > 0) process.stdout.write('\n');
          printTable(['TOPIC', 'PARTITION', 'COMMITTED', 'LOG-END', 'LAG'], g.offsets.map((o) => [o.topic, o.partition, o.committed, o.logEndOffset, o.lag]));
        }
      });
    }
    return 0;
  },
};

const remove: Leaf = {
  name: 'delete',
  summary: 'delete empty groups and their committed offsets',
  positional: '@group',
  flags: {},
  help: `Usage: fjord groups delete GROUP...

Deletes groups with their committed offsets. A group with running members is refused.

Examples:
  fjord groups delete old-billing

${commonHelp}`,
  async run(ctx) {
    const ids = positionals(ctx, 'GROUP...', 1, Infinity);
    await withAdmin(ctx, (admin) => admin.deleteGroups(ids));
    for (const id of ids) process.stdout.write(`deleted group '${id}'\n`);
    return 0;
  },
};

/** --topic T, T:P or T:P,P,... */
export function parseTopicSpec(raw: string): Array<string | TopicPartition> {
  const colon = raw.lastIndexOf(':');
  if (colon < 0) {
    if (raw === '') throw new CliError(`--topic expects TOPIC or TOPIC:PARTITION[,PARTITION...], got ''`);
    return [raw];
  }
  const topic = raw.slice(0, colon);
  if (topic === '') throw new CliError(`--topic expects TOPIC or TOPIC:PARTITION[,PARTITION...], got '${raw}'`);
  return raw
    .slice(colon + 1)
    .split(',')
    .map((p) => ({ topic, partition: parseIntValue(p, `--topic ${raw}: partition`, { min: 0, max: 2_147_483_647 }) }));
}

const resetTargets = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime', 'to-timestamp', 'shift-by'] as const;

function resetTarget(flags: Parameters<Leaf['run']>[0]['flags']): ResetOffsetsTo {
  const given = resetTargets.filter((t) => flags[t] !== undefined);
  if (given.length !== 1) throw new CliError(`give exactly one of ${resetTargets.map((t) => `--${t}`).join(', ')}${given.length > 1 ? ` (got ${given.map((t) => `--${t}`).join(' and ')})` : ''}`);
  switch (given[0]!) {
    case 'to-earliest': return 'earliest';
    case 'to-latest': return 'latest';
    case 'to-offset': return { offset: parseBigIntValue(stringFlag(flags, 'to-offset')!, '--to-offset', { min: 0n }) };
    case 'to-datetime': return { timestamp: parseTimeValue(stringFlag(flags, 'to-datetime')!, '--to-datetime') };
    case 'to-timestamp': return { timestamp: parseIntValue(stringFlag(flags, 'to-timestamp')!, '--to-timestamp', { min: 0 }) };
    case 'shift-by': return { shiftBy: parseIntValue(stringFlag(flags, 'shift-by')!, '--shift-by') };
  }
}

const resetOffsets: Leaf = {
  name: 'reset-offsets',
  summary: 'move a group\'s committed offsets (dry run unless --execute)',
  positional: '@group',
  values: { topic: ['@topic'] },
  flags: {
    topic: 'list',
    'all-topics': 'boolean',
    'to-earliest': 'boolean',
    'to-latest': 'boolean',
    'to-offset': 'string',
    'to-datetime': 'string',
    'to-timestamp': 'string',
    'shift-by': 'string',
    execute: 'boolean',
    json: 'boolean',
  },
  short: { t: 'topic' },
  help: `Usage: fjord groups reset-offsets GROUP (--topic T[:P[,P...]]... | --all-topics) TARGET [--execute]

Moves the committed offsets of GROUP, as kafka-consumer-groups.sh --reset-offsets does. Without
--execute it only prints the plan (a dry run). The group must have no running members.

Target (exactly one):
  --to-earliest          the log start offset
  --to-latest            the log end offset
  --to-offset N          offset N (clamped into the log)
  --to-datetime ISO      the first offset at or after the time (2026-01-31T12:00:00Z; no zone = UTC)
  --to-timestamp MS      the same, in ms since the epoch
  --shift-by N           the committed offset plus N (negative: back), clamped into the log

Options:
  -t, --topic T[:P,...]  a topic, or some of its partitions; repeatable
      --all-topics       every topic the group has committed offsets for
      --execute          apply the plan
      --json             [{"topic", "partition", "previous", "offset"}]

Examples:
  fjord groups reset-offsets billing --topic orders --to-earliest
  fjord groups reset-offsets billing --topic orders:0,1 --shift-by -100 --execute
  fjord groups reset-offsets billing --all-topics --to-datetime 2026-01-31T00:00:00Z --execute

${commonHelp}`,
  async run(ctx) {
    const [groupId] = positionals(ctx, 'GROUP', 1);
    const specs = listFlag(ctx.flags, 'topic').flatMap(parseTopicSpec);
    const allTopics = ctx.flags['all-topics'] === true;
    if ((specs.length > 0) === allTopics) throw new CliError(`give --topic T[:P] (repeatable) or --all-topics (see 'fjord groups reset-offsets --help')`);
    const to = resetTarget(ctx.flags);
    const execute = ctx.flags.execute === true;
    const plan = await withAdmin(ctx, async (admin) => {
      let topics = specs;
      if (allTopics) {
        topics = [...new Set((await admin.listGroupOffsets(groupId!)).map((o) => o.topic))];
        if (topics.length === 0) throw new CliError(`group '${groupId}' has no committed offsets (name topics with --topic)`, exitCodes.failed);
      }
      const names = [...new Set(topics.map((t) => (typeof t === 'string' ? t : t.topic)))];
      const described = await requireTopics(admin, names);
      for (const t of topics) {
        if (typeof t === 'string') continue;
        const n = described.find((d) => d.name === t.topic)!.partitions.length;
        if (t.partition >= n) throw new CliError(`partition ${t.partition} does not exist: topic '${t.topic}' has partitions 0..${n - 1}`, exitCodes.failed);
      }
      return admin.resetGroupOffsets(groupId!, { topics, to, dryRun: !execute });
    });
    if (ctx.json) printJson(plan);
    else {
      printTable(['TOPIC', 'PARTITION', 'PREVIOUS', 'NEW'], plan.map((p) => [p.topic, p.partition, p.previous, p.offset]));
      process.stderr.write(execute ? `reset ${plan.length} partition(s) of group '${groupId}'\n` : `dry run: nothing changed (add --execute to apply)\n`);
    }
    return 0;
  },
};

export const groupsCommand: Group = {
  name: 'groups',
  summary: 'list, describe and delete consumer groups, and reset their offsets',
  subcommands: [list, describe, remove, resetOffsets],
};

/** `orders:0,1 payments:3` */
function formatAssignment(tps: ReadonlyArray<{ topic: string; partition: number }>): string {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) (byTopic.get(tp.topic) ?? byTopic.set(tp.topic, []).get(tp.topic)!).push(tp.partition);
  return [...byTopic].map(([t, ps]) => `${t}:${ps.sort((a, b) => a - b).join(',')}`).join(' ') || '-';
}
