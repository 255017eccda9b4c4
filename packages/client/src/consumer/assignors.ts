/**
 * Client-side partition assignors of the classic group protocol, run by the group leader. Pure:
 * members and partition counts in, an assignment per member out. Names and results follow Kafka's
 * RangeAssignor, RoundRobinAssignor and CooperativeStickyAssignor, so a Fjord leader assigns as a
 * Java or librdkafka leader would (members are ordered by group.instance.id when set, else member id).
 */

export interface AssignorMember {
  memberId: string;
  groupInstanceId: string | null;
  topics: readonly string[];
  /** Partitions the member owned in `generation` (cooperative protocol; empty for eager). */
  owned: ReadonlyArray<{ topic: string; partition: number }>;
  generation: number;
}

/** topic -> partitions (member -> topic -> sorted partitions). */
export type Assignment = Map<string, Map<string, number[]>>;

export interface Assignor {
  /** The protocol name sent in JoinGroup ('range', 'roundrobin', 'cooperative-sticky'). */
  readonly name: string;
  /** 'cooperative' assignors never move a partition in one step: the owner revokes it first. */
  readonly rebalanceProtocol: 'eager' | 'cooperative';
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Assignment;
}

/** A member as a RawAssignor sees it: its JoinGroup metadata for the chosen protocol, unread. */
export interface RawAssignorMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

/**
 * An assignor that writes and reads the consumer protocol's bytes itself, and may take its time
 * (the KafkaJS facade runs KafkaJS's custom partition assigners through this). Eager only.
 */
export interface RawAssignor {
  /** The protocol name sent in JoinGroup. */
  readonly name: string;
  readonly rebalanceProtocol: 'eager';
  readonly raw: true;
  /** This member's JoinGroup metadata for this protocol, at every join, given its subscription. */
  metadata(topics: readonly string[]): Buffer;
  /**
   * Run by the leader over every member's metadata; `topics` is the leader's own subscription.
   * Returns assignment bytes (version, partitions, user data) for some or all members: a member
   * left out gets an empty assignment from the coordinator.
   */
  assign(members: readonly RawAssignorMember[], topics: readonly string[]): Promise<Array<{ memberId: string; assignment: Buffer }>>;
}

export const isRawAssignor = (a: Assignor | RawAssignor): a is RawAssignor => (a as RawAssignor).raw === true;

function memberOrder(a: AssignorMember, b: AssignorMember): number {
  const ka = a.groupInstanceId ?? a.memberId;
  const kb = b.groupInstanceId ?? b.memberId;
  return ka < kb ? -1 : ka > kb ? 1 : a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function emptyAssignment(members: readonly AssignorMember[]): Assignment {
  return new Map(members.map((m) => [m.memberId, new Map<string, number[]>()]));
}

function add(a: Assignment, memberId: string, topic: string, partition: number): void {
  const t = a.get(memberId)!;
  let list = t.get(topic);
  if (!list) t.set(topic, (list = []));
  list.push(partition);
}

function sortAll(a: Assignment): Assignment {
  for (const t of a.values()) for (const list of t.values()) list.sort((x, y) => x - y);
  return a;
}

function topicsOf(members: readonly AssignorMember[], counts: ReadonlyMap<string, number>): string[] {
  return [...new Set(members.flatMap((m) => m.topics))].filter((t) => (counts.get(t) ?? 0) > 0).sort();
}

export const rangeAssignor: Assignor = {
  name: 'range',
  rebalanceProtocol: 'eager',
  assign(members, counts) {
    const out = emptyAssignment(members);
    for (const topic of topicsOf(members, counts)) {
      const subscribers = members.filter((m) => m.topics.includes(topic)).sort(memberOrder);
      const n = counts.get(topic)!;
      const per = Math.floor(n / subscribers.length);
      const extra = n % subscribers.length;
      subscribers.forEach((m, i) => {
        const start = i * per + Math.min(i, extra);
        const length = per + (i < extra ? 1 : 0);
        for (let p = start; p < start + length; p++) add(out, m.memberId, topic, p);
      });
    }
    return out;
  },
};

export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  rebalanceProtocol: 'eager',
  assign(members, counts) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(memberOrder);
    let next = 0;
    for (const topic of topicsOf(members, counts)) {
      for (let p = 0; p < counts.get(topic)!; p++) {
        // The next member (circularly) that subscribes to this topic.
        for (let k = 0; k < sorted.length; k++) {
          const m = sorted[(next + k) % sorted.length]!;
          if (m.topics.includes(topic)) {
            add(out, m.memberId, topic, p);
            next = (next + k + 1) % sorted.length;
            break;
          }
        }
      }
    }
    return out;
  },
};

/**
 * Sticky and balanced: members keep what they owned (up to their fair share), the rest goes to
 * the least loaded eligible member. Cooperative: a partition whose owner in the previous generation
 * is another member is left out of this assignment; the owner sees it gone, revokes it and
 * rejoins, and the next rebalance hands it over (Kafka's CooperativeStickyAssignor).
 */
export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  rebalanceProtocol: 'cooperative',
  assign(members, counts) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(memberOrder);
    const all: Array<[string, number]> = [];
    for (const topic of topicsOf(members, counts)) for (let p = 0; p < counts.get(topic)!; p++) all.push([topic, p]);
    const key = (t: string, p: number): string => `${t}\u0000${p}`;
    // Previous owner of each partition; a partition claimed by two members goes to the later generation.
    const prev = new Map<string, { memberId: string; generation: number }>();
    for (const m of sorted) {
      for (const o of m.owned) {
        if (!m.topics.includes(o.topic) || o.partition >= (counts.get(o.topic) ?? 0)) continue;
        const k = key(o.topic, o.partition);
        const had = prev.get(k);
        if (!had || m.generation > had.generation) prev.set(k, { memberId: m.memberId, generation: m.generation });
      }
    }
    const eligible = (t: string): AssignorMember[] => sorted.filter((m) => m.topics.includes(t));
    // Fair share when every member subscribes to the same topics; otherwise a greedy balance.
    const total = all.length;
    const maxQuota = Math.ceil(total / Math.max(1, sorted.length));
    let atMax = total % Math.max(1, sorted.length) === 0 ? sorted.length : total % sorted.length;
    const minQuota = Math.floor(total / Math.max(1, sorted.length));
    const load = new Map(sorted.map((m) => [m.memberId, 0]));
    const owner = new Map<string, string>();
    for (const m of sorted) {
      const mine = [...prev].filter(([, v]) => v.memberId === m.memberId).map(([k]) => k).sort();
      const cap = atMax > 0 ? maxQuota : minQuota;
      const keep = mine.slice(0, cap);
      if (keep.length === maxQuota && maxQuota > minQuota) atMax--;
      for (const k of keep) owner.set(k, m.memberId);
      load.set(m.memberId, keep.length);
    }
    for (const [t, p] of all) {
      const k = key(t, p);
      if (owner.has(k)) continue;
      const candidates = eligible(t);
      if (candidates.length === 0) continue;
      let best = candidates[0]!;
      for (const c of candidates) if (load.get(c.memberId)! < load.get(best.memberId)!) best = c;
      owner.set(k, best.memberId);
      load.set(best.memberId, load.get(best.memberId)! + 1);
    }
    for (const [t, p] of all) {
      const k = key(t, p);
      const m = owner.get(k);
      if (m === undefined) continue;
      const before = prev.get(k);
      if (before && before.memberId !== m) continue; // transferring: the owner revokes first
      add(out, m, t, p);
    }
    return sortAll(out);
  },
};

export const builtInAssignors: ReadonlyMap<string, Assignor> = new Map([rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor].map((a) => [a.name, a]));
