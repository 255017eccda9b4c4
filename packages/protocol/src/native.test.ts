import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadNativeModules, onFirstUse } from './native.js';
import { crc32cOf } from './records/batch.js';
import { compress, decompress } from './compression/index.js';
import { CompressionType } from './compression/codec.js';

describe('native packages loaded on first use', () => {
  it('work once loaded: CRC-32C and every native codec', () => {
    // CRC-32C's check value: the CRC of "123456789" is 0xe3069283.
    assert.equal(crc32cOf(Buffer.from('123456789')), 0xe3069283);
    const data = Buffer.from('page-view '.repeat(1000));
    for (const codec of [CompressionType.snappy, CompressionType.lz4, CompressionType.zstd]) {
      assert.deepEqual(decompress(codec, compress(codec, data), data.length), data);
    }
  });

  it('name a package that cannot be loaded, at first use and in loadNativeModules', () => {
    const missing = onFirstUse<unknown>('fjord-no-such-native-package');
    assert.throws(() => missing(), /cannot load the native module fjord-no-such-native-package/);
    assert.throws(() => loadNativeModules(), /cannot load the native module fjord-no-such-native-package/);
  });
});
