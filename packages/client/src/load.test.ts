import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { clientApis } from './apis.js';

/** Every module URL a fresh Node process loads to import this package's index. */
function modulesLoadedByImport(): string[] {
  const hooks = 'export async function load(url, context, next) { process.stderr.write(`loaded ${url}\\n`); return next(url, context); }';
  const index = new URL('./index.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--no-warnings', '--loader', `data:text/javascript,${encodeURIComponent(hooks)}`, '--input-type=module', '-e', `await import(${JSON.stringify(index)});`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr.split('\n').flatMap((l) => (l.startsWith('loaded ') ? [l.slice('loaded '.length)] : []));
}

describe('importing @fjord/client', () => {
  it("loads only its own APIs' codecs, and no native package until one is used", () => {
    const loaded = modulesLoadedByImport();
    assert.ok(loaded.some((u) => u.endsWith('/client/dist/index.js')), 'the hook saw the import');
    // @node-rs/crc32, snappy, lz4-napi, zstd-napi: loaded by the first CRC or compression call.
    assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/')), []);
    const generated = loaded.filter((u) => u.includes('/protocol/dist/generated/'));
    // generated/index.js imports every API's codecs (~130 modules); the client never needs it.
    assert.deepEqual(generated.filter((u) => u.endsWith('/generated/index.js')), []);
    const apiModules = generated.filter((u) => !u.includes('/generated/data/') && !u.endsWith('/generated/headers.js'));
    assert.equal(apiModules.length, clientApis.size, apiModules.join('\n'));
  });
});
