// Unit tests of the CLI's pure parts: flag parsing and typed values, --from, templates, JSON
// records in and out, error mapping, and the completion scripts' coverage of every flag.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, KafkaError, TimeoutError, type ConsumerRecord } from '@fjord/client';
import { CliError, intFlag, parseFlags, parseTimeValue } from './flags.js';
import { describeError, resolveBootstrap, toJson } from './common.js';
import { compileTemplate, parseFrom, recordJson } from './commands/consume.js';
import { parseJsonLine } from './commands/produce.js';
import { parseTopicSpec } from './commands/groups.js';
import { bashScript, catalog } from './commands/completion.js';

const usage = (f: () => unknown, pattern: RegExp): void => {
  assert.throws(f, (e: unknown) => e instanceof CliError && e.exitCode === 2 && pattern.test(e.message));
};

describe('flags', () => {
  it('parses values, repeats, inline values, negative numbers and positionals', () => {
    const f = parseFlags(['t', '--from', '-10', '--header=a=b', '--header', 'c=d', '-p', '3', '--json'], { from: 'string', header: 'list', partition: 'string', json: 'boolean' }, { p: 'partition' });
    assert.deepEqual(f, { _: ['t'], from: '-10', header: ['a=b', 'c=d'], partition: '3', json: true });
  });
  it('names the flag in errors', () => {
    usage(() => parseFlags(['--bogus'], {}, {}, 'topics list'), /^unknown flag --bogus \(see 'fjord topics list --help'\)$/);
    usage(() => parseFlags(['-z'], {}), /unknown flag -z/);
    usage(() => parseFlags(['--from'], { from: 'string' }), /flag --from needs a value/);
    usage(() => parseFlags(['--json=1'], { json: 'boolean' }), /--json takes no value/);
    usage(() => intFlag({ _: [], partitions: 'abc' }, 'partitions', { min: 1 }), /^--partitions expects an integer, got 'abc'$/);
    usage(() => intFlag({ _: [], partitions: '0' }, 'partitions', { min: 1, max: 2_147_483_647 }), /^--partitions expects an integer >= 1, got '0'$/);
    usage(() => intFlag({ _: [], count: '9' }, 'count', { min: 1, max: 5 }), /in 1\.\.5/);
  });
  it('reads times as ms or ISO dates (UTC without a zone)', () => {
    assert.equal(parseTimeValue('1700000000000', '--x'), 1_700_000_000_000);
    assert.equal(parseTimeValue('2026-01-31', '--x'), Date.UTC(2026, 0, 31));
    assert.equal(parseTimeValue('2026-01-31T12:00:00', '--x'), Date.UTC(2026, 0, 31, 12));
    assert.equal(parseTimeValue('2026-01-31T12:00:00+02:00', '--x'), Date.UTC(2026, 0, 31, 10));
    usage(() => parseTimeValue('yesterday', '--to-datetime'), /--to-datetime expects/);
  });
  it('resolves the bootstrap from the flag, then FJORD_BOOTSTRAP, then the default', () => {
    const saved = process.env['FJORD_BOOTSTRAP'];
    try {
      delete process.env['FJORD_BOOTSTRAP'];
      assert.equal(resolveBootstrap({ _: [] }), '127.0.0.1:9092');
      process.env['FJORD_BOOTSTRAP'] = 'a:1, b:2';
      assert.equal(resolveBootstrap({ _: [] }), 'a:1,b:2');
      assert.equal(resolveBootstrap({ _: [], bootstrap: '[::1]:9092' }), '[::1]:9092');
      usage(() => resolveBootstrap({ _: [], bootstrap: 'host' }), /--bootstrap expects HOST:PORT/);
      process.env['FJORD_BOOTSTRAP'] = 'nope';
      usage(() => resolveBootstrap({ _: [] }), /FJORD_BOOTSTRAP expects HOST:PORT/);
    } finally {
      if (saved === undefined) delete process.env['FJORD_BOOTSTRAP'];
      else process.env['FJORD_BOOTSTRAP'] = saved;
    }
  });
});

describe('consume formats', () => {
  const record: ConsumerRecord = {
    topic: 't',
    partition: 2,
    offset: 41n,
    timestamp: 1_700_000_000_000,
    timestampType: 'CreateTime',
    key: Buffer.from('k'),
    value: Buffer.from('v ü'),
    headers: [['a', Buffer.from('1')], ['a', null], ['b', Buffer.from('2')]],
    leaderEpoch: 0,
  };
  it('--from forms', () => {
    assert.deepEqual(parseFrom('beginning'), { kind: 'earliest' });
    assert.deepEqual(parseFrom('end'), { kind: 'latest' });
    assert.deepEqual(parseFrom('42'), { kind: 'offset', offset: 42n });
    assert.deepEqual(parseFrom('-5'), { kind: 'last', count: 5n });
    assert.deepEqual(parseFrom('@1000'), { kind: 'time', ms: 1000 });
    assert.deepEqual(parseFrom('1970-01-01T00:00:01Z'), { kind: 'time', ms: 1000 });
    usage(() => parseFrom('soon'), /--from expects beginning, end/);
  });
  it('templates substitute placeholders and escapes, and refuse unknown ones', () => {
    assert.equal(compileTemplate('{topic}/{partition}@{offset} {key}={value} {headers}\\t{timestamp}')(record), 't/2@41 k=v ü a=1,a=,b=2\t1700000000000\n');
    assert.equal(compileTemplate('{value}')({ ...record, value: null }), '\n');
    usage(() => compileTemplate('{nope}'), /unknown placeholder \{nope\}/);
  });
  it('json keeps every field; a repeated header becomes a list', () => {
    assert.deepEqual(JSON.parse(recordJson(record)), { topic: 't', partition: 2, offset: 41, timestamp: 1_700_000_000_000, timestampType: 'CreateTime', key: 'k', value: 'v ü', headers: { a: ['1', null], b: '2' } });
    assert.equal(JSON.parse(recordJson({ ...record, key: null, value: null, headers: [] })).value, null);
  });
});

describe('produce --format json', () => {
  it('reads key, value, headers (object or pairs), partition and timestamp', () => {
    assert.deepEqual(parseJsonLine('{"key":"k","value":{"a":1},"headers":{"h":"x","r":["1","2"]},"partition":1,"timestamp":"1970-01-01T00:00:01Z"}', 'l1'), {
      key: 'k',
      value: '{"a":1}',
      headers: [['h', 'x'], ['r', '1'], ['r', '2']],
      partition: 1,
      timestamp: 1000,
    });
    assert.deepEqual(parseJsonLine('{"value":null,"headers":[["a","b"],["a",null]]}', 'l1'), { key: null, value: null, headers: [['a', 'b'], ['a', null]] });
    // What consume --format json prints is accepted (topic, offset, timestampType ignored).
    assert.equal(parseJsonLine(recordJson({ topic: 't', partition: 0, offset: 1n, timestamp: 5, timestampType: 'CreateTime', key: null, value: Buffer.from('x'), headers: [], leaderEpoch: 0 }), 'l').value, 'x');
  });
  it('refuses bad lines with exit code 1, naming the line', () => {
    const bad = (line: string, pattern: RegExp): void => assert.throws(() => parseJsonLine(line, 'stdin line 7'), (e: unknown) => e instanceof CliError && e.exitCode === 1 && /^stdin line 7: /.test(e.message) && pattern.test(e.message));
    bad('not json', /not valid JSON/);
    bad('[1]', /expected a JSON object/);
    bad('{"key":"k"}', /no "value"/);
    bad('{"value":"v","valu":1}', /unknown field "valu"/);
    bad('{"value":"v","partition":-1}', /"partition" must be an integer >= 0/);
    bad('{"value":"v","timestamp":"later"}', /"timestamp" must be/);
    bad('{"value":"v","headers":"h"}', /"headers" must be/);
  });
});

describe('groups --topic', () => {
  it('reads T, T:P and T:P,P', () => {
    assert.deepEqual(parseTopicSpec('orders'), ['orders']);
    assert.deepEqual(parseTopicSpec('orders:0,2'), [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 2 }]);
    usage(() => parseTopicSpec('orders:x'), /partition expects an integer/);
    usage(() => parseTopicSpec(':1'), /--topic expects TOPIC/);
  });
});

describe('errors', () => {
  it('map to one line and the documented exit code', () => {
    assert.deepEqual(describeError(new CliError('bad'), false), { message: 'bad', exitCode: 2 });
    assert.equal(describeError(new ConfigError('lingerMs', 'no'), false).exitCode, 2);
    const k = describeError(new KafkaError(36, 'topic "t": exists'), false);
    assert.equal(k.exitCode, 1);
    assert.match(k.message, /--if-not-exists/);
    const t = describeError(new TimeoutError('Metadata', 5000), false);
    assert.equal(t.exitCode, 1);
    assert.match(t.message, /timed out after 5000 ms .*--timeout/);
    assert.doesNotMatch(describeError(new Error('a\nb'), false).message, /\n/);
    assert.match(describeError(new Error('x', { cause: new Error('root') }), true).message, /\n\s+at [\s\S]*caused by: Error: root/);
  });
  it('JSON output keeps offsets as numbers', () => {
    assert.equal(toJson({ o: 5n, big: 2n ** 60n }), '{"o":5,"big":"1152921504606846976"}');
  });
});

describe('completion', () => {
  it('lists every command, subcommand and flag the parser accepts', () => {
    const { tops, nodes } = catalog();
    const script = bashScript();
    for (const t of tops) assert.ok(script.includes(t.name), t.name);
    for (const n of nodes) {
      assert.ok(script.includes(`'${n.path}')`), n.path);
      for (const f of n.flags) assert.ok(script.includes(f), `${n.path} ${f}`);
    }
    assert.ok(nodes.find((n) => n.path === 'groups reset-offsets')!.flags.includes('--to-earliest'));
    assert.ok(nodes.find((n) => n.path === 'consume')!.flags.includes('--bootstrap'));
  });
});
