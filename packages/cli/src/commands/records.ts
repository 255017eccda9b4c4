/** `fjord records delete`: moves partitions' log start offsets forward (DeleteRecords). */
import { commonHelp, exitCodes, positionals, printJson, printTable, requireTopics, withAdmin } from '../common.js';
import { CliError, listFlag, parseBigIntValue, parseIntValue, stringFlag } from '../flags.js';
import type { Group, Leaf } from '../command.js';

const remove: Leaf = {
  name: 'delete',
  summary: 'delete the records before an offset',
  positional: '@topic',
  values: { before: ['end'] },
  flags: { partition: 'list', 'all-partitions': 'boolean', before: 'string', json: 'boolean' },
  short: { p: 'partition' },
  help: `Usage: fjord records delete TOPIC (--partition P... | --all-partitions) --before OFFSET|end

Deletes every record below OFFSET in the partitions (the log start offset moves to OFFSET;
consumers reading from the beginning start there). 'end' deletes everything written so far.

Options:
  -p, --partition P      a partition; repeatable
      --all-partitions   every partition of the topic
      --before OFFSET    the new log start offset, or 'end' (the high watermark)
      --json             [{"topic", "partition", "lowWatermark"}]

Examples:
  fjord records delete orders --partition 0 --before 1000
  fjord records delete scratch --all-partitions --before end

${commonHelp}`,
  async run(ctx) {
    const [topic] = positionals(ctx, 'TOPIC', 1);
    const parts = listFlag(ctx.flags, 'partition').map((p) => parseIntValue(p, '--partition', { min: 0, max: 2_147_483_647 }));
    const all = ctx.flags['all-partitions'] === true;
    if ((parts.length > 0) === all) throw new CliError(`give --partition P (repeatable) or --all-partitions (see 'fjord records delete --help')`);
    const beforeRaw = stringFlag(ctx.flags, 'before');
    if (beforeRaw === undefined) throw new CliError(`missing --before OFFSET (or --before end) (see 'fjord records delete --help')`);
    const before = beforeRaw === 'end' ? -1n : parseBigIntValue(beforeRaw, '--before', { min: 0n });
    const results = await withAdmin(ctx, async (admin) => {
      const [d] = await requireTopics(admin, [topic!]);
      const n = d!.partitions.length;
      for (const p of parts) if (p >= n) throw new CliError(`partition ${p} does not exist: topic '${topic}' has partitions 0..${n - 1}`, exitCodes.failed);
      const partitions = all ? d!.partitions.map((p) => p.partition) : [...new Set(parts)];
      return admin.deleteRecords(partitions.map((partition) => ({ topic: topic!, partition, beforeOffset: before })), { timeoutMs: ctx.timeoutMs });
    });
    results.sort((a, b) => a.partition - b.partition);
    if (ctx.json) printJson(results);
    else printTable(['TOPIC', 'PARTITION', 'LOG-START'], results.map((r) => [r.topic, r.partition, r.lowWatermark]));
    return 0;
  },
};

export const recordsCommand: Group = {
  name: 'records',
  summary: 'delete records below an offset',
  subcommands: [remove],
};
