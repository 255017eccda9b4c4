import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateAll } from './generate.js';
import { buildMessage, kebabCase } from './model.js';
import { parseSchemaText, stripComments, type RawMessage } from './schema-files.js';
import { conditionWithin, parseVersions, versionCondition } from './versions.js';

const here = dirname(fileURLToPath(import.meta.url)); // packages/protocol/dist/codegen
const shared = process.env.FJORD_SHARED ? resolve(process.env.FJORD_SHARED) : resolve(here, '..', '..', '..', '..', '..', 'shared');
const schemas = join(shared, 'kafka-protocol');
const generatedDir = resolve(here, '..', '..', 'src', 'generated');

describe('schema parsing', () => {
  it('strips // comments outside strings only', () => {
    assert.equal(stripComments('{ "a": "http://x" } // c\n// d\n1'), '{ "a": "http://x" } \n\n1');
    assert.equal(stripComments('"esc\\"aped // no"'), '"esc\\"aped // no"');
  });

  it('tolerates content after the top-level object', () => {
    const m = parseSchemaText('// licence\n{ "name": "X", "type": "data", "validVersions": "0", "fields": [] }\n}\n');
    assert.equal(m.name, 'X');
  });

  it('parses version ranges and builds short conditions', () => {
    assert.deepEqual(parseVersions('3+'), { lo: 3, hi: Infinity });
    assert.deepEqual(parseVersions('0-2'), { lo: 0, hi: 2 });
    assert.deepEqual(parseVersions('5'), { lo: 5, hi: 5 });
    assert.equal(parseVersions('none'), null);
    assert.equal(versionCondition([3, 4, 5], 0, 5), 'v >= 3');
    assert.equal(versionCondition([0, 1], 0, 5), 'v <= 1');
    assert.equal(versionCondition([2], 0, 5), 'v === 2');
    assert.equal(versionCondition([0, 4, 5], 0, 5), '(v <= 0 || v >= 4)');
    assert.equal(versionCondition([0, 1, 2], 0, 2), 'true');
    // Versions the struct never occurs in (12 here) may go either way; they follow the version below.
    assert.equal(conditionWithin([13], [10, 11, 13]), 'v >= 13');
    assert.equal(conditionWithin([11, 13], [10, 11, 13]), 'v >= 11');
    assert.equal(conditionWithin([10, 11, 13], [10, 11, 13]), 'true');
  });

  it('names files in kebab case', () => {
    assert.equal(kebabCase('ApiVersions'), 'api-versions');
    assert.equal(kebabCase('OffsetForLeaderEpoch'), 'offset-for-leader-epoch');
    assert.equal(kebabCase('KRaftVersionRecord'), 'k-raft-version-record');
  });
});

describe('merging legacy-2024 versions', () => {
  const current: RawMessage = {
    apiKey: 99,
    type: 'request',
    name: 'ThingRequest',
    validVersions: '2-3',
    flexibleVersions: '3+',
    fields: [
      { name: 'A', type: 'int32', versions: '0+' },
      { name: 'Items', type: '[]Item', versions: '0+', fields: [{ name: 'Id', type: 'int32', versions: '0+' }] },
      { name: 'T', type: 'string', versions: '3+', taggedVersions: '3+', tag: 0, nullableVersions: '3+', default: 'null' },
    ],
  };
  const legacy: RawMessage = {
    apiKey: 99,
    type: 'request',
    name: 'ThingRequest',
    validVersions: '0-2',
    flexibleVersions: 'none',
    fields: [
      { name: 'A', type: 'int32', versions: '0+' },
      { name: 'Old', type: 'int64', versions: '0-1' },
      { name: 'Items', type: '[]LegacyItem', versions: '0+', fields: [{ name: 'Id', type: 'int32', versions: '0+' }, { name: 'Gone', type: 'bool', versions: '0' }] },
    ],
  };

  it('takes the layout of legacy-only versions from the legacy file', () => {
    const m = buildMessage(current, legacy, []);
    assert.deepEqual(m.versions, [0, 1, 2, 3]);
    assert.deepEqual(m.legacyOnly, [0, 1]);
    assert.deepEqual(m.flexible, [3]);
    assert.deepEqual(
      m.root.fields.map((f) => [f.name, f.present]),
      [
        ['A', [0, 1, 2, 3]],
        ['Old', [0, 1]],
        ['Items', [0, 1, 2, 3]],
        ['T', [3]],
      ],
    );
    const item = m.root.fields[2]!.struct!;
    assert.equal(item.tsName, 'ThingRequestItem');
    assert.deepEqual(
      item.fields.map((f) => [f.name, f.present]),
      [
        ['Id', [0, 1, 2, 3]],
        ['Gone', [0]],
      ],
    );
  });

  it('refuses a legacy field whose type changed', () => {
    const bad: RawMessage = { ...legacy, fields: [{ name: 'A', type: 'string', versions: '0+' }] };
    assert.throws(() => buildMessage(current, bad, []), /type int32 vs legacy string/);
  });
});

describe('generated files', { skip: existsSync(join(schemas, 'messages')) ? false : `no schemas at ${schemas}` }, () => {
  it('are deterministic and match what is committed (npm run codegen:check)', () => {
    const a = generateAll(schemas);
    const b = generateAll(schemas);
    assert.deepEqual([...a.files.entries()], [...b.files.entries()]);
    for (const [path, content] of a.files) {
      const full = join(generatedDir, path);
      assert.ok(existsSync(full), `${path} is missing; run npm run codegen`);
      assert.ok(readFileSync(full, 'utf8') === content, `${path} differs from the schemas; run npm run codegen`);
    }
  });

  it('note which APIs take versions from legacy-2024', () => {
    const { notes } = generateAll(schemas);
    assert.ok(notes.includes('ProduceRequest: versions 0-2 from legacy-2024'), notes.join('\n'));
    assert.ok(notes.includes('FetchResponse: versions 0-3 from legacy-2024'));
    assert.ok(notes.includes('RequestHeader: versions 0 from legacy-2024'));
  });
});
