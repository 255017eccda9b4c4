/** Small helpers the group handlers share. */
import type { RequestContext } from './handler.js';

/** The client's address as Kafka reports it in DescribeGroups (InetAddress.toString: "/host"). */
export function clientHost(ctx: RequestContext): string {
  const i = ctx.peer.lastIndexOf(':');
  return `/${i > 0 ? ctx.peer.slice(0, i) : ctx.peer}`;
}
