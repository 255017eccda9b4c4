/** The client commands of `fjord` (server, perf and completion are wired in index.ts). */
import type { Command } from './command.js';
import { clusterCommand } from './commands/cluster.js';
import { configsCommand } from './commands/configs.js';
import { consumeCommand } from './commands/consume.js';
import { groupsCommand } from './commands/groups.js';
import { produceCommand } from './commands/produce.js';
import { recordsCommand } from './commands/records.js';
import { topicsCommand } from './commands/topics.js';

export const clientCommands: Command[] = [topicsCommand, produceCommand, consumeCommand, groupsCommand, configsCommand, recordsCommand, clusterCommand];
