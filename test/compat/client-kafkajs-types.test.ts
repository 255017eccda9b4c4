// @fjord/client/kafkajs against the kafkajs package itself, without a broker: a KafkaJS application
// switches by changing its import, so every name kafkajs exports must be there — values at run time
// (an ES module importing a missing name fails to load) and types for TypeScript — with the same
// error class hierarchy, enum values and AssignerProtocol bytes. A KafkaJS application written in
// TypeScript (test/fixtures/kafkajs-app.ts) must type-check against both.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import * as facade from '@fjord/client/kafkajs';
import { repoRoot } from '../harness/proc.js';
import { makeTempDir, removeTempDir } from '../harness/util.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- both libraries are inspected as plain objects */
const real = createRequire(import.meta.url)('kafkajs') as Record<string, any>;
const fjord = facade as unknown as Record<string, any>;

/** A class's name and its ancestors' names, nearest first. */
function lineage(c: any): string[] {
  const out: string[] = [];
  for (let p = c; typeof p === 'function' && p !== Function.prototype; p = Object.getPrototypeOf(p)) out.push(p.name);
  return out;
}

const errorNames = Object.keys(real).filter((n) => /^KafkaJS/.test(n));

/** A program of `files` (name -> source) in a temp dir whose node_modules is the repo's; its diagnostics as text. */
async function typeCheck(files: Record<string, string>, check: (program: ts.Program, dir: string) => string[] = () => []): Promise<string[]> {
  const dir = await makeTempDir('fjord-kafkajs-types-');
  try {
    await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    const program = ts.createProgram(
      Object.keys(files).map((f) => join(dir, f)),
      { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'], esModuleInterop: true, skipLibCheck: false },
    );
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1} ` : '';
      return `${where}TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    return [...diagnostics, ...check(program, dir)];
  } finally {
    await removeTempDir(dir);
  }
}

describe('@fjord/client/kafkajs exports what kafkajs exports', () => {
  test('every value kafkajs exports exists in the facade, of the same kind', () => {
    const missing = Object.keys(real).filter((n) => !(n in fjord));
    assert.deepEqual(missing, [], 'names kafkajs exports that the facade does not');
    for (const n of Object.keys(real)) assert.equal(typeof fjord[n], typeof real[n], n);
  });

  test("error classes: kafkajs's hierarchy, names and retriable flags", () => {
    assert.ok(errorNames.length >= 30, `kafkajs exports ${errorNames.length} error classes`);
    for (const n of errorNames) {
      assert.deepEqual(lineage(fjord[n]), lineage(real[n]), `${n}: class hierarchy`);
      // Each as KafkaJS code builds it from a message (KafkaJSDeleteTopicRecordsError from its partitions).
      const make = (C: any): any => (n === 'KafkaJSDeleteTopicRecordsError' ? new C({ topic: 't', partitions: [] }) : n === 'KafkaJSAggregateError' ? new C('m', []) : new C('something failed', {}));
      const [r, f] = [make(real[n]), make(fjord[n])];
      assert.deepEqual({ name: f.name, retriable: f.retriable, message: f.message }, { name: r.name, retriable: r.retriable, message: r.message }, n);
      assert.equal(f instanceof Error, true, n);
    }
    // The subclass checks applications make.
    assert.ok(new fjord['KafkaJSLockTimeout']('x') instanceof facade.KafkaJSTimeout);
    assert.ok(new fjord['KafkaJSConnectionClosedError']('x', { host: 'h', port: 1 }) instanceof facade.KafkaJSConnectionError);
    assert.equal(new fjord['KafkaJSConnectionClosedError']('x', { host: 'h', port: 1 }).broker, new real['KafkaJSConnectionClosedError']('x', { host: 'h', port: 1 }).broker);
    assert.ok(new fjord['KafkaJSCreateTopicError']({ message: 'm', type: 'INVALID_CONFIG', code: 40, retriable: false }, 't') instanceof facade.KafkaJSProtocolError);
    const partitions = [{ partition: 0, offset: '5', error: new facade.KafkaJSProtocolError({ message: 'm', type: 'OFFSET_OUT_OF_RANGE', code: 1, retriable: false }) }];
    assert.equal(new fjord['KafkaJSDeleteTopicRecordsError']({ topic: 't', partitions }).retriable, new real['KafkaJSDeleteTopicRecordsError']({ topic: 't', partitions }).retriable);
  });

  test('enums: the same names and values', () => {
    for (const n of ['logLevel', 'CompressionTypes', 'ConfigResourceTypes', 'ConfigSource', 'AclResourceTypes', 'AclOperationTypes', 'AclPermissionTypes', 'ResourcePatternTypes']) {
      assert.deepEqual({ ...fjord[n] }, { ...real[n] }, n);
    }
  });

  test('AssignerProtocol writes and reads the bytes kafkajs does', () => {
    const A = real['AssignerProtocol'];
    const B = facade.AssignerProtocol;
    for (const m of [{ version: 0, topics: ['orders', 'audit'], userData: Buffer.from('u') }, { version: 0, topics: [], userData: Buffer.alloc(0) }]) {
      const [x, y] = [A.MemberMetadata.encode(m) as Buffer, B.MemberMetadata.encode(m)];
      assert.ok(x.equals(y), `MemberMetadata ${JSON.stringify(m)}: ${x.toString('hex')} vs ${y.toString('hex')}`);
      assert.deepEqual(B.MemberMetadata.decode(x), A.MemberMetadata.decode(y));
    }
    const assignments: facade.MemberAssignment[] = [{ version: 0, assignment: { orders: [0, 2], audit: [1] }, userData: Buffer.alloc(0) }, { version: 0, assignment: {}, userData: Buffer.from([1, 2]) }];
    for (const m of assignments) {
      const [x, y] = [A.MemberAssignment.encode(m) as Buffer, B.MemberAssignment.encode(m)];
      assert.ok(x.equals(y), `MemberAssignment ${JSON.stringify(m)}: ${x.toString('hex')} vs ${y.toString('hex')}`);
      assert.deepEqual(B.MemberAssignment.decode(x), A.MemberAssignment.decode(y));
    }
    assert.equal(B.MemberAssignment.decode(Buffer.alloc(0)), A.MemberAssignment.decode(Buffer.alloc(0)));
    // What a Java member writes (ConsumerProtocolAssignment v3 with null user data) reads as kafkajs reads it.
    const java = Buffer.from('0003' + '00000001' + '00066f7264657273' + '00000002' + '00000000' + '00000002' + 'ffffffff', 'hex');
    assert.deepEqual(B.MemberAssignment.decode(java), A.MemberAssignment.decode(java));
    // Versions 1-3: kafkajs writes version 0's fields behind the version, the facade Kafka's fields of
    // that version; each reads the other's (custom assigners often say version 1).
    for (const version of [1, 2, 3]) {
      const m = { version, topics: ['orders', 'audit'], userData: Buffer.from('wants 1,3') };
      assert.deepEqual(B.MemberMetadata.decode(A.MemberMetadata.encode(m)), m, `facade reads kafkajs's v${version} metadata`);
      assert.deepEqual(A.MemberMetadata.decode(B.MemberMetadata.encode(m)), m, `kafkajs reads the facade's v${version} metadata`);
      const a = { version, assignment: { orders: [1, 3] }, userData: Buffer.from('u') };
      assert.ok(A.MemberAssignment.encode(a).equals(B.MemberAssignment.encode(a)), `v${version} assignment bytes`);
    }
  });

  test("PartitionAssigners.roundRobin sends and assigns what kafkajs's does", async () => {
    // A stand-in for KafkaJS's cluster: round robin reads partition metadata (the facade's adds its targets first).
    const clusterOf = (counts: Record<string, number>): any => ({
      addMultipleTargetTopics: async () => {},
      findTopicPartitionMetadata: (t: string) => Array.from({ length: counts[t] ?? 0 }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 1, replicas: [1], isr: [1] })),
    });
    const cases: Array<{ counts: Record<string, number>; topics: string[]; members: string[] }> = [
      { counts: { orders: 8 }, topics: ['orders'], members: ['m-2', 'm-1', 'm-3'] },
      { counts: { zeta: 3, alpha: 2 }, topics: ['zeta', 'alpha'], members: ['b', 'a'] },
      { counts: { few: 2 }, topics: ['few'], members: ['c', 'a', 'd', 'b'] },
      { counts: { gone: 0, x: 1 }, topics: ['gone', 'x', 'missing'], members: ['only'] },
    ];
    const roundRobinOf = (lib: any, counts: Record<string, number>): any => lib.PartitionAssigners.roundRobin({ cluster: clusterOf(counts), groupId: 'g', logger: undefined });
    for (const c of cases) {
      const make = (lib: any): any => roundRobinOf(lib, c.counts);
      const [r, f] = [make(real), make(fjord)];
      assert.deepEqual([f.name, f.version], [r.name, r.version]);
      const [pr, pf] = [r.protocol({ topics: c.topics }), f.protocol({ topics: c.topics })];
      assert.equal(pf.name, pr.name);
      assert.ok(pf.metadata.equals(pr.metadata), `metadata for ${JSON.stringify(c.topics)}`);
      const members = c.members.map((memberId) => ({ memberId, memberMetadata: pr.metadata }));
      const hex = (l: any[]): Array<[string, string]> => l.map((a) => [a.memberId, a.memberAssignment.toString('hex')]);
      assert.deepEqual(hex(await f.assign({ members, topics: c.topics })), hex(await r.assign({ members, topics: c.topics })), JSON.stringify(c));
    }
    // Subscriptions that differ: kafkajs deals the leader's topics over every member and never assigns
    // a topic only others subscribe to; the facade deals each subscribed topic over its subscribers.
    const f = roundRobinOf(fjord, { a: 4, b: 2, c: 1 });
    const meta = (topics: string[]): Buffer => f.protocol({ topics }).metadata;
    const members = [{ memberId: 'm1', memberMetadata: meta(['a', 'b']) }, { memberId: 'm2', memberMetadata: meta(['a']) }, { memberId: 'm3', memberMetadata: meta(['c']) }];
    const decoded = (await f.assign({ members, topics: ['b', 'a'] })).map((x: any) => [x.memberId, facade.AssignerProtocol.MemberAssignment.decode(x.memberAssignment)!.assignment]);
    assert.deepEqual(decoded, [['m1', { b: [0, 1], a: [1, 3] }], ['m2', { a: [0, 2] }], ['m3', { c: [0] }]]);
  });

  test("every type name kafkajs's declarations export, the facade's export too", { timeout: 60_000 }, async () => {
    const names = (program: ts.Program, dir: string, file: string): Set<string> => {
      const checker = program.getTypeChecker();
      const sf = program.getSourceFile(join(dir, file));
      assert.ok(sf, file);
      return new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).map((s) => s.name));
    };
    let missing: string[] = [];
    let kafkajsCount = 0;
    const diagnostics = await typeCheck({ 'real.ts': "export * from 'kafkajs';\n", 'facade.ts': "export * from '@fjord/client/kafkajs';\n" }, (program, dir) => {
      const r = names(program, dir, 'real.ts');
      const f = names(program, dir, 'facade.ts');
      kafkajsCount = r.size;
      missing = [...r].filter((n) => !f.has(n));
      return [];
    });
    assert.deepEqual(diagnostics, []);
    assert.ok(kafkajsCount > 150, `kafkajs's declarations export ${kafkajsCount} names`);
    assert.deepEqual(missing, [], 'names kafkajs declares that the facade does not');
  });

  test('a KafkaJS application in TypeScript type-checks against kafkajs and, with its import changed, against the facade', { timeout: 60_000 }, async () => {
    const app = readFileSync(join(repoRoot, 'test', 'fixtures', 'kafkajs-app.ts'), 'utf8');
    assert.match(app, /from 'kafkajs';/);
    assert.deepEqual(await typeCheck({ 'app.ts': app }), [], 'against kafkajs (the fixture itself must be right)');
    assert.deepEqual(await typeCheck({ 'app.ts': app.replaceAll("from 'kafkajs';", "from '@fjord/client/kafkajs';") }), [], 'against @fjord/client/kafkajs');
  });
});
