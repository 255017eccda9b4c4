/**
 * Server-side assignors of the consumer group protocol (KIP-848): "uniform" and "range", the two
 * Kafka 4 ships (group.consumer.assignors, the first is the default). Pure and deterministic: the
 * same input gives the same target assignment, members and topics are visited in sorted order
 * (Kafka iterates hash maps, so its exact choices can differ; the properties are the same).
 *
 * Both take the group's current target assignment as input and keep what they can (stickiness),
 * so a rebalance moves as few partitions as balance allows.
 */

/** topic id -> partitions. */
export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export const EMPTY_ASSIGNMENT: Assignment = new Map();

export interface AssignmentMember {
  /** Topic ids the member subscribes to; only topics that exist. */
  readonly subscribedTopicIds: ReadonlySet<string>;
  /** The member's current target assignment. */
  readonly assignment: Assignment;
}

export interface AssignmentInput {
  readonly members: ReadonlyMap<string, AssignmentMember>;
  /** Partition count of every topic some member subscribes to. */
  readonly partitionCounts: ReadonlyMap<string, number>;
}

export interface ServerAssignor {
  readonly name: string;
  /** The new target assignment of every member (members without partitions may be absent). */
  assign(input: AssignmentInput): Map<string, Assignment>;
}

type MutableAssignment = Map<string, Set<number>>;

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byNumber = (a: number, b: number): number => a - b;

export function assignmentSize(a: Assignment): number {
  let n = 0;
  for (const parts of a.values()) n += parts.size;
  return n;
}

export function assignmentsEqual(a: Assignment, b: Assignment): boolean {
  let nonEmpty = 0;
  for (const [topic, parts] of a) {
    if (parts.size === 0) continue;
    nonEmpty++;
    const other = b.get(topic);
    if (!other || other.size !== parts.size) return false;
    for (const p of parts) if (!other.has(p)) return false;
  }
  for (const parts of b.values()) if (parts.size > 0) nonEmpty--;
  return nonEmpty === 0;
}

function add(a: MutableAssignment, topic: string, partition: number): void {
  let parts = a.get(topic);
  if (!parts) a.set(topic, (parts = new Set()));
  parts.add(partition);
}

function remove(a: MutableAssignment, topic: string, partition: number): void {
  const parts = a.get(topic);
  if (!parts) return;
  parts.delete(partition);
  if (parts.size === 0) a.delete(topic);
}

function sortedMemberIds(input: AssignmentInput): string[] {
  return [...input.members.keys()].sort(byString);
}

function isHomogeneous(input: AssignmentInput): boolean {
  let first: ReadonlySet<string> | undefined;
  for (const m of input.members.values()) {
    if (first === undefined) {
      first = m.subscribedTopicIds;
      continue;
    }
    if (m.subscribedTopicIds.size !== first.size) return false;
    for (const t of m.subscribedTopicIds) if (!first.has(t)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------- uniform

/**
 * Kafka's UniformAssignor: balance first (two members' partition counts differ by at most one,
 * as far as subscriptions allow), then stickiness. All members subscribed to the same topics take
 * the homogeneous path (quota per member); different subscriptions take the heterogeneous path
 * (keep, hand out to the least loaded subscriber, then move partitions until balanced).
 */
export const uniformAssignor: ServerAssignor = {
  name: 'uniform',
  assign(input) {
    if (input.members.size === 0) return new Map();
    return isHomogeneous(input) ? uniformHomogeneous(input) : uniformHeterogeneous(input);
  },
};

function uniformHomogeneous(input: AssignmentInput): Map<string, Assignment> {
  const memberIds = sortedMemberIds(input);
  const topics = [...input.members.get(memberIds[0]!)!.subscribedTopicIds].sort(byString);
  const out = new Map<string, MutableAssignment>();
  if (topics.length === 0) return out;
  let total = 0;
  for (const t of topics) total += input.partitionCounts.get(t) ?? 0;
  const minQuota = Math.floor(total / memberIds.length);
  let extras = total % memberIds.length;
  // Members that already hold more keep the extra partitions, so fewer partitions move.
  const order = [...memberIds].sort((a, b) => assignmentSize(input.members.get(b)!.assignment) - assignmentSize(input.members.get(a)!.assignment) || byString(a, b));
  const owned = new Set<string>();
  const unfilled: Array<[string, number]> = [];
  for (const id of order) {
    const current = input.members.get(id)!.assignment;
    let quota = minQuota;
    if (extras > 0) {
      quota++;
      extras--;
    }
    const kept: MutableAssignment = new Map();
    for (const t of topics) {
      const parts = current.get(t);
      if (!parts) continue;
      for (const p of [...parts].sort(byNumber)) {
        const key = `${t}:${p}`;
        if (quota === 0 || p >= (input.partitionCounts.get(t) ?? 0) || owned.has(key)) continue;
        owned.add(key);
        add(kept, t, p);
        quota--;
      }
    }
    out.set(id, kept);
    if (quota > 0) unfilled.push([id, quota]);
  }
  const unassigned: Array<[string, number]> = [];
  for (const t of topics) for (let p = 0; p < (input.partitionCounts.get(t) ?? 0); p++) if (!owned.has(`${t}:${p}`)) unassigned.push([t, p]);
  let next = 0;
  for (const [id, quota] of unfilled) {
    const a = out.get(id)!;
    for (let i = 0; i < quota && next < unassigned.length; i++, next++) add(a, unassigned[next]![0], unassigned[next]![1]);
  }
  if (next !== unassigned.length) throw new Error(`uniform assignor left ${unassigned.length - next} partitions unassigned`);
  return out;
}

function uniformHeterogeneous(input: AssignmentInput): Map<string, Assignment> {
  const memberIds = sortedMemberIds(input);
  const subscribers = new Map<string, string[]>();
  for (const id of memberIds) for (const t of input.members.get(id)!.subscribedTopicIds) (subscribers.get(t) ?? subscribers.set(t, []).get(t)!).push(id);
  const out = new Map<string, MutableAssignment>(memberIds.map((id) => [id, new Map()]));
  const size = new Map<string, number>(memberIds.map((id) => [id, 0]));
  const owner = new Map<string, string>();
  const give = (id: string, t: string, p: number): void => {
    add(out.get(id)!, t, p);
    size.set(id, size.get(id)! + 1);
    owner.set(`${t}:${p}`, id);
  };
  const take = (id: string, t: string, p: number): void => {
    remove(out.get(id)!, t, p);
    size.set(id, size.get(id)! - 1);
    owner.delete(`${t}:${p}`);
  };
  // 1. Keep what each member has of the topics it still subscribes to.
  for (const id of memberIds) {
    const m = input.members.get(id)!;
    for (const [t, parts] of [...m.assignment].sort((a, b) => byString(a[0], b[0]))) {
      if (!m.subscribedTopicIds.has(t)) continue;
      const count = input.partitionCounts.get(t) ?? 0;
      for (const p of [...parts].sort(byNumber)) if (p < count && !owner.has(`${t}:${p}`)) give(id, t, p);
    }
  }
  // 2. Hand out the rest, most constrained topics first (Kafka's order: partitions per subscriber
  //    descending, then fewer subscribers, then partition id), each to its least loaded subscriber.
  const unassigned: Array<[string, number]> = [];
  for (const t of [...subscribers.keys()].sort(byString)) for (let p = 0; p < (input.partitionCounts.get(t) ?? 0); p++) if (!owner.has(`${t}:${p}`)) unassigned.push([t, p]);
  const ratio = (t: string): number => (input.partitionCounts.get(t) ?? 0) / subscribers.get(t)!.length;
  unassigned.sort((a, b) => ratio(b[0]) - ratio(a[0]) || subscribers.get(a[0])!.length - subscribers.get(b[0])!.length || a[1] - b[1] || byString(a[0], b[0]));
  const leastLoaded = (candidates: readonly string[]): string => candidates.reduce((best, id) => (size.get(id)! < size.get(best)! ? id : best));
  for (const [t, p] of unassigned) give(leastLoaded(subscribers.get(t)!), t, p);
  // 3. Balance: move a partition to a subscriber holding at least two fewer, until none can move.
  //    Each move lowers the sum of squared sizes, so this ends.
  for (let moved = true; moved; ) {
    moved = false;
    for (const id of [...memberIds].sort((a, b) => size.get(b)! - size.get(a)! || byString(a, b))) {
      for (const [t, parts] of [...out.get(id)!].sort((a, b) => byString(a[0], b[0]))) {
        for (const p of [...parts].sort((a, b) => b - a)) {
          const to = leastLoaded(subscribers.get(t)!);
          if (size.get(to)! + 1 >= size.get(id)!) continue;
          take(id, t, p);
          give(to, t, p);
          moved = true;
        }
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------ range

/**
 * Kafka's server-side RangeAssignor: per topic, the subscribers (in member id order) get
 * contiguous ranges of partitions, at least floor(partitions / subscribers) each and one more for
 * the first (partitions % subscribers); members keep their lowest partitions up to that quota
 * (stickiness). Members subscribed to the same co-partitioned topics get the same partition
 * numbers of each, which is what joins need.
 */
export const rangeAssignor: ServerAssignor = {
  name: 'range',
  assign(input) {
    const memberIds = sortedMemberIds(input);
    const subscribers = new Map<string, string[]>();
    for (const id of memberIds) for (const t of input.members.get(id)!.subscribedTopicIds) (subscribers.get(t) ?? subscribers.set(t, []).get(t)!).push(id);
    const out = new Map<string, MutableAssignment>();
    const of = (id: string): MutableAssignment => out.get(id) ?? out.set(id, new Map()).get(id)!;
    for (const t of [...subscribers.keys()].sort(byString)) {
      const members = subscribers.get(t)!;
      const count = input.partitionCounts.get(t) ?? 0;
      const minQuota = Math.floor(count / members.length);
      let extras = count % members.length;
      const sticky = new Set<number>();
      const unfilled: Array<[string, number]> = [];
      for (const id of members) {
        const current = [...(input.members.get(id)!.assignment.get(t) ?? [])].filter((p) => p < count).sort(byNumber);
        const kept = current.slice(0, Math.min(current.length, minQuota));
        for (const p of kept) {
          sticky.add(p);
          add(of(id), t, p);
        }
        const remaining = minQuota - current.length;
        if (remaining < 0 && extras > 0) {
          extras--;
          const p = current[minQuota]!;
          sticky.add(p);
          add(of(id), t, p);
        } else if (remaining >= 0) {
          unfilled.push([id, remaining]);
        }
      }
      const free: number[] = [];
      for (let p = 0; p < count; p++) if (!sticky.has(p)) free.push(p);
      let next = 0;
      for (const [id, remaining] of unfilled) {
        let want = remaining;
        if (extras > 0) {
          want++;
          extras--;
        }
        for (let i = 0; i < want && next < free.length; i++, next++) add(of(id), t, free[next]!);
      }
    }
    return out;
  },
};

export const serverAssignors: readonly ServerAssignor[] = [uniformAssignor, rangeAssignor];

export function assignorByName(name: string): ServerAssignor | undefined {
  return serverAssignors.find((a) => a.name === name);
}
