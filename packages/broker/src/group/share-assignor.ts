/**
 * The share groups' server-side assignor, Kafka's SimpleAssignor ("simple", KIP-932), which
 * aims first at balance, then at stickiness:
 *   - every partition is shared by desiredSharing = ceil(members / partitions) members, so with
 *     more members than partitions partitions are shared, otherwise each has one member;
 *   - members get an equal share of the (partition, member) pairs, give or take one;
 *   - a member keeps what it had where that does not break the two rules above.
 * Members with the same subscriptions are assigned together (Kafka's homogeneous builder). When
 * subscriptions differ, each topic is assigned on its own among the members subscribed to it,
 * a simplification of Kafka's heterogeneous builder. Not rack-aware, as Kafka's is not.
 */

export const SHARE_ASSIGNOR_NAME = 'simple';

/** topicId -> partitions */
export type ShareAssignment = Map<string, number[]>;

export interface AssignorMember {
  memberId: string;
  /** Ids of the existing topics the member subscribes to. */
  topicIds: ReadonlySet<string>;
  /** The member's current target assignment. */
  current: ShareAssignment;
}

/** Target assignment of every member; `partitionCounts` maps topic id to its partition count. */
export function assignShareGroup(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, ShareAssignment> {
  const out = new Map<string, ShareAssignment>(members.map((m) => [m.memberId, new Map()]));
  if (members.length === 0) return out;
  const first = members[0]!.topicIds;
  const homogeneous = members.every((m) => m.topicIds.size === first.size && [...first].every((t) => m.topicIds.has(t)));
  if (homogeneous) {
    merge(out, assignTopics(members, [...first].sort(), partitionCounts));
    return out;
  }
  const allTopics = new Set(members.flatMap((m) => [...m.topicIds]));
  for (const topicId of [...allTopics].sort()) {
    const subscribed = members.filter((m) => m.topicIds.has(topicId));
    merge(out, assignTopics(subscribed, [topicId], partitionCounts));
  }
  return out;
}

function merge(into: Map<string, ShareAssignment>, from: Map<string, ShareAssignment>): void {
  for (const [memberId, a] of from) {
    const target = into.get(memberId)!;
    for (const [t, ps] of a) if (ps.length > 0) target.set(t, ps);
  }
}

const tp = (topicId: string, partition: number): string => `${topicId}:${partition}`;

/** Kafka's SimpleHomogeneousAssignmentBuilder over `topicIds`, for members all subscribed to them. */
function assignTopics(members: readonly AssignorMember[], topicIds: readonly string[], partitionCounts: ReadonlyMap<string, number>): Map<string, ShareAssignment> {
  const targets: Array<[string, number]> = [];
  for (const t of topicIds) for (let p = 0; p < (partitionCounts.get(t) ?? 0); p++) targets.push([t, p]);
  const m = members.length;
  const result = new Map<string, ShareAssignment>(members.map((x) => [x.memberId, new Map()]));
  if (targets.length === 0 || m === 0) return result;
  const valid = new Set(targets.map(([t, p]) => tp(t, p)));
  const desiredSharing = Math.ceil(m / targets.length);
  const precise = (desiredSharing * targets.length) / m;
  const desired = members.map((_, i) => Math.ceil(precise * (i + 1)) - Math.ceil(precise * i));

  // Keep what members had, where it is still a target partition.
  const byPartition = new Map<string, Set<number>>();
  const byMember = members.map(() => new Set<string>());
  members.forEach((mem, i) => {
    for (const t of topicIds) {
      for (const p of mem.current.get(t) ?? []) {
        const key = tp(t, p);
        if (!valid.has(key) || byMember[i]!.has(key)) continue;
        byMember[i]!.add(key);
        let set = byPartition.get(key);
        if (!set) byPartition.set(key, (set = new Set()));
        set.add(i);
      }
    }
  });
  // Members with too many give some up.
  members.forEach((_, i) => {
    const mine = [...byMember[i]!].sort();
    while (mine.length > desired[i]!) {
      const key = mine.pop()!;
      byMember[i]!.delete(key);
      byPartition.get(key)!.delete(i);
    }
  });
  // Partitions shared by too many members lose some.
  for (const [key, set] of byPartition) {
    for (const i of [...set].sort((a, b) => b - a)) {
      if (set.size <= desiredSharing) break;
      set.delete(i);
      byMember[i]!.delete(key);
    }
  }
  // Partitions with too few members get them from members with room, round-robin.
  const unfilled = members.map((_, i) => i).filter((i) => byMember[i]!.size < desired[i]!);
  let cursor = 0;
  for (const [t, p] of targets) {
    if (unfilled.length === 0) break;
    const key = tp(t, p);
    let set = byPartition.get(key);
    if (!set) byPartition.set(key, (set = new Set()));
    let tried = 0;
    while (set.size < desiredSharing && tried < unfilled.length) {
      cursor %= unfilled.length;
      const i = unfilled[cursor]!;
      if (set.has(i)) {
        cursor++;
        tried++;
        continue;
      }
      set.add(i);
      byMember[i]!.add(key);
      tried = 0;
      if (byMember[i]!.size >= desired[i]!) unfilled.splice(cursor, 1);
      else cursor++;
      if (unfilled.length === 0) break;
    }
  }
  members.forEach((mem, i) => {
    const a: ShareAssignment = new Map();
    for (const [t, p] of targets) {
      if (!byMember[i]!.has(tp(t, p))) continue;
      const list = a.get(t) ?? [];
      list.push(p);
      a.set(t, list);
    }
    result.set(mem.memberId, a);
  });
  return result;
}
