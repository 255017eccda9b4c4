/** `fjord cluster info`: cluster id, controller, brokers and topic count. */
import { commonHelp, positionals, printJson, printTable, withAdmin } from '../common.js';
import type { Group, Leaf } from '../command.js';

const info: Leaf = {
  name: 'info',
  summary: 'cluster id, controller, brokers and topic count',
  flags: { json: 'boolean' },
  help: `Usage: fjord cluster info [--json]

Shows the cluster id, the controller, every broker (id, host:port, rack) and how many topics
there are (internal ones counted apart).

Options:
  --json   {"clusterId", "controllerId", "brokers": [{"nodeId", "host", "port", "rack"}],
           "topics", "internalTopics"}

Examples:
  fjord cluster info
  fjord cluster info --json -b kafka1:9092 | jq .clusterId

${commonHelp}`,
  async run(ctx) {
    positionals(ctx, '', 0);
    const out = await withAdmin(ctx, async (admin) => {
      const c = await admin.describeCluster();
      const all = await admin.listTopics({ includeInternal: true });
      const external = await admin.listTopics();
      return {
        clusterId: c.clusterId,
        controllerId: c.controllerId,
        brokers: [...c.brokers].sort((a, b) => a.nodeId - b.nodeId),
        topics: external.length,
        internalTopics: all.length - external.length,
      };
    });
    if (ctx.json) {
      printJson(out);
      return 0;
    }
    process.stdout.write(`Cluster id:  ${out.clusterId ?? '(none)'}\nController:  ${out.controllerId}\nTopics:      ${out.topics} (and ${out.internalTopics} internal)\n\n`);
    printTable(['BROKER', 'ADDRESS', 'RACK', ''], out.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`, b.rack, b.nodeId === out.controllerId ? 'controller' : '']));
    return 0;
  },
};

export const clusterCommand: Group = {
  name: 'cluster',
  summary: 'show what the cluster is made of',
  subcommands: [info],
};
