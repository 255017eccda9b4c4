/** `fjord configs get|set|delete` for a topic, a broker or the cluster-wide broker default. */
import type { Admin } from '@fjord/client';
import { commonHelp, positionals, printJson, printTable, requireTopics, withAdmin, type Context } from '../common.js';
import { CliError, parseIntValue, parseKeyValue, stringFlag, type FlagSpec } from '../flags.js';
import type { Group, Leaf } from '../command.js';
import { configSources } from './topics.js';

const targetFlags: FlagSpec = { topic: 'string', broker: 'string', 'broker-defaults': 'boolean' };
const targetHelp = `Target (exactly one):
  -t, --topic TOPIC      a topic's configs
      --broker ID        one broker's configs
      --broker-defaults  the cluster-wide dynamic broker defaults`;

type Target = { type: 'topic' | 'broker'; name: string; label: string };

function target(ctx: Context): Target {
  const topic = stringFlag(ctx.flags, 'topic');
  const broker = stringFlag(ctx.flags, 'broker');
  const defaults = ctx.flags['broker-defaults'] === true;
  if ([topic !== undefined, broker !== undefined, defaults].filter(Boolean).length !== 1) throw new CliError(`give exactly one of --topic TOPIC, --broker ID or --broker-defaults (see 'fjord ${ctx.command} --help')`);
  if (topic !== undefined) {
    if (topic === '') throw new CliError('--topic must not be empty');
    return { type: 'topic', name: topic, label: `topic '${topic}'` };
  }
  if (broker !== undefined) return { type: 'broker', name: String(parseIntValue(broker, '--broker', { min: 0, max: 2_147_483_647 })), label: `broker ${broker}` };
  return { type: 'broker', name: '', label: 'the broker defaults' };
}

async function checkTarget(admin: Admin, t: Target): Promise<void> {
  if (t.type === 'topic') await requireTopics(admin, [t.name]);
}

const get: Leaf = {
  name: 'get',
  summary: 'show configs with their source',
  values: { topic: ['@topic'] },
  flags: { ...targetFlags, json: 'boolean', 'non-default': 'boolean' },
  short: { t: 'topic' },
  help: `Usage: fjord configs get (--topic T | --broker ID | --broker-defaults) [KEY...] [--json]

Shows configs (all, or the KEYs given) with their value and where it comes from: topic (a topic
override), broker / cluster-default (dynamic broker configs), static (server.properties or
--set), default.

${targetHelp}

Options:
  --non-default   only configs that differ from the default
  --json          [{"name", "value", "source", "readOnly", "sensitive"}]

Examples:
  fjord configs get --topic orders retention.ms cleanup.policy
  fjord configs get --broker 1 --non-default
  fjord configs get --topic orders --json | jq -r '.[] | "\\(.name)=\\(.value)"'

${commonHelp}`,
  async run(ctx) {
    const t = target(ctx);
    const keys = ctx.flags._;
    const entries = await withAdmin(ctx, async (admin) => {
      await checkTarget(admin, t);
      const [res] = await admin.describeConfigs([{ type: t.type, name: t.name, ...(keys.length ? { keys } : {}) }]);
      return res?.entries ?? [];
    });
    const unknown = keys.filter((k) => !entries.some((e) => e.name === k));
    const rows = entries
      .filter((e) => !ctx.flags['non-default'] || !e.isDefault)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => ({ name: e.name, value: e.isSensitive ? null : e.value, source: configSources[e.source] ?? String(e.source), readOnly: e.readOnly, sensitive: e.isSensitive }));
    if (ctx.json) printJson(rows);
    else printTable(['NAME', 'VALUE', 'SOURCE'], rows.map((r) => [r.name, r.sensitive ? '(sensitive)' : (r.value ?? 'null'), r.source]));
    if (unknown.length > 0) throw new CliError(`${t.label} has no config ${unknown.map((k) => `'${k}'`).join(', ')}`, 1);
    return 0;
  },
};

const set: Leaf = {
  name: 'set',
  summary: 'set configs (KEY=VALUE ...)',
  values: { topic: ['@topic'] },
  flags: { ...targetFlags, 'dry-run': 'boolean' },
  short: { t: 'topic' },
  help: `Usage: fjord configs set (--topic T | --broker ID | --broker-defaults) KEY=VALUE...

Sets configs and leaves the others as they are (IncrementalAlterConfigs).

${targetHelp}

Options:
  --dry-run   only validate

Examples:
  fjord configs set --topic orders retention.ms=3600000 max.message.bytes=2097152
  fjord configs set --broker-defaults log.retention.ms=604800000

${commonHelp}`,
  async run(ctx) {
    const t = target(ctx);
    const pairs = positionals(ctx, 'KEY=VALUE...', 1, Infinity).map((kv) => parseKeyValue(kv, 'set'));
    await withAdmin(ctx, async (admin) => {
      await checkTarget(admin, t);
      await admin.incrementalAlterConfigs([{ type: t.type, name: t.name, ops: pairs.map(([name, value]) => ({ name, op: 'set' as const, value })) }], { validateOnly: ctx.flags['dry-run'] === true });
    });
    process.stdout.write(`${ctx.flags['dry-run'] ? 'would set' : 'set'} ${pairs.map(([k, v]) => `${k}=${v}`).join(', ')} on ${t.label}\n`);
    return 0;
  },
};

const remove: Leaf = {
  name: 'delete',
  summary: 'remove config overrides (back to the default)',
  values: { topic: ['@topic'] },
  flags: { ...targetFlags, 'dry-run': 'boolean' },
  short: { t: 'topic' },
  help: `Usage: fjord configs delete (--topic T | --broker ID | --broker-defaults) KEY...

Removes overrides: each KEY falls back to its default.

${targetHelp}

Options:
  --dry-run   only validate

Examples:
  fjord configs delete --topic orders retention.ms

${commonHelp}`,
  async run(ctx) {
    const t = target(ctx);
    const keys = positionals(ctx, 'KEY...', 1, Infinity);
    await withAdmin(ctx, async (admin) => {
      await checkTarget(admin, t);
      await admin.incrementalAlterConfigs([{ type: t.type, name: t.name, ops: keys.map((name) => ({ name, op: 'delete' as const })) }], { validateOnly: ctx.flags['dry-run'] === true });
    });
    process.stdout.write(`${ctx.flags['dry-run'] ? 'would delete' : 'deleted'} ${keys.join(', ')} on ${t.label}\n`);
    return 0;
  },
};

export const configsCommand: Group = {
  name: 'configs',
  summary: 'show and change topic and broker configs',
  subcommands: [get, set, remove],
};
