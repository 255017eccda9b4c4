/**
 * Before a run: one Admin round that proves the broker answers (exit 3 with the fix when it does
 * not, as every client command) and that the topic exists or has been created, so that a wrong
 * address or topic is a one-line error within --timeout instead of a producer waiting for metadata.
 */
import { ConnectionError, TimeoutError } from '@fjord/client';
import { cannotConnect, withAdmin, type Context } from '../common.js';
import { CliError } from '../flags.js';

export interface CreateSettings {
  partitions: number | undefined;
  replicationFactor: number | undefined;
}

/** The topic's partition numbers, after creating it (if missing) when `create` is given. */
export async function prepareTopic(ctx: Context, topic: string, create?: CreateSettings): Promise<number[]> {
  return withAdmin(ctx, async (admin) => {
    const exists = (await admin.listTopics({ includeInternal: true })).includes(topic);
    if (!exists && !create) throw new CliError(`topic '${topic}' does not exist (create it with: fjord topics create ${topic}, or add --create-topic [--partitions N])`, 1);
    if (!exists && create) {
      await admin.createTopics(
        [{ name: topic, ...(create.partitions === undefined ? {} : { numPartitions: create.partitions }), ...(create.replicationFactor === undefined ? {} : { replicationFactor: create.replicationFactor }) }],
        { ifNotExists: true, timeoutMs: ctx.timeoutMs },
      );
    }
    const [t] = await admin.describeTopics([topic]);
    if (!t || t.partitions.length === 0) throw new CliError(`topic '${topic}' has no partitions`, 1);
    if (exists && create?.partitions !== undefined && t.partitions.length !== create.partitions) {
      process.stderr.write(`fjord: topic '${topic}' already exists with ${t.partitions.length} partitions (not ${create.partitions}); using it as it is\n`);
    }
    return t.partitions.map((p) => p.partition).sort((a, b) => a - b);
  });
}

/** A client failure during start-up (before any record): the broker went away is "cannot connect". */
export function explain(ctx: Context, e: unknown): unknown {
  if (e instanceof TimeoutError || e instanceof ConnectionError) return cannotConnect(ctx, e);
  return e;
}
