import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameReader } from './frame-reader.js';

/** A frame on the wire: 4-byte size, then `bytes` bytes numbered from `seed`. */
function wireFrame(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(4 + bytes);
  b.writeInt32BE(bytes, 0);
  for (let i = 0; i < bytes; i++) b[4 + i] = (seed + i) & 0xff;
  return b;
}

function bodyOf(frame: Buffer): Buffer {
  return frame.subarray(4);
}

interface Harness {
  reader: FrameReader;
  frames: Buffer[];
  badSizes: number[];
  /** Read sizes, as the kernel would have done them. */
  reads: number[];
  /** Makes `bytes` available on the socket: reads them as the kernel would, at most what buffer() offers per read. */
  deliver(bytes: Buffer): void;
}

function harness(arenaBytes: number, frameBytesMax = 1 << 20): Harness {
  const frames: Buffer[] = [];
  const badSizes: number[] = [];
  const reads: number[] = [];
  const reader = new FrameReader(arenaBytes, frameBytesMax, (f) => frames.push(f), (s) => badSizes.push(s));
  return {
    reader,
    frames,
    badSizes,
    reads,
    deliver(bytes) {
      let at = 0;
      while (at < bytes.length) {
        const into = reader.buffer();
        assert.ok(into.length > 0, 'buffer() must never be empty');
        const n = Math.min(into.length, bytes.length - at);
        bytes.copy(into, 0, at, at + n);
        at += n;
        reads.push(n);
        reader.read(n);
      }
    },
  };
}

function deliverIn(h: Harness, stream: Buffer, pieceBytes: number): void {
  for (let at = 0; at < stream.length; at += pieceBytes) h.deliver(stream.subarray(at, at + pieceBytes));
}

describe('FrameReader', () => {
  it('cuts many small frames out of one read, as views of one arena (no copy)', () => {
    const h = harness(64 * 1024);
    const sent = Array.from({ length: 50 }, (_, i) => wireFrame(4 + i * 7, i));
    h.deliver(Buffer.concat(sent));
    assert.equal(h.reads.length, 1, `${Buffer.concat(sent).length} bytes in one read`);
    assert.deepEqual(h.frames, sent.map(bodyOf));
    assert.ok(h.frames.every((f) => f.buffer === h.frames[0]!.buffer));
  });

  it('reassembles frames split at every byte, including inside the size and right after it', () => {
    const sent = [wireFrame(10, 1), wireFrame(300, 2), wireFrame(4, 3)];
    const stream = Buffer.concat(sent);
    for (let cut = 1; cut < stream.length; cut++) {
      const h = harness(1024);
      h.deliver(stream.subarray(0, cut));
      h.deliver(stream.subarray(cut));
      assert.deepEqual(h.frames, sent.map(bodyOf), `split at ${cut}`);
    }
    // One byte per read: every frame boundary and every byte of every size prefix is a read boundary.
    const h = harness(1024);
    deliverIn(h, stream, 1);
    assert.deepEqual(h.frames, sent.map(bodyOf));
  });

  it('reads a frame larger than the arena into a buffer of its own, and stops the reads at its end', () => {
    const h = harness(1024);
    const big = wireFrame(5000, 9);
    const after = [wireFrame(20, 4), wireFrame(30, 5)];
    // Everything is on the socket at once: the reads into the large frame must not run into the next frames.
    h.deliver(Buffer.concat([wireFrame(8, 7), big, ...after]));
    assert.deepEqual(h.frames, [wireFrame(8, 7), big, ...after].map(bodyOf));
    const large = h.frames[1]!;
    assert.equal(large.buffer.byteLength, 5000, 'the large frame is its own buffer');
    assert.equal(large.byteOffset, 0);
    assert.ok(h.frames[2]!.buffer !== large.buffer && h.frames[2]!.buffer.byteLength === 1024, 'frames after it are arena views again');
    // The first read took a quarter of the arena (12 bytes of the small frame, 244 of the large
    // one); the second went into the large frame and stopped at its end; the third took the last two frames.
    assert.deepEqual(h.reads, [256, 5000 - 240, 24 + 34]);
  });

  it('a large frame whose size arrives in pieces', () => {
    const h = harness(1024);
    const big = wireFrame(3000, 3);
    deliverIn(h, Buffer.concat([big, wireFrame(5, 1)]), 3);
    assert.deepEqual(h.frames, [big, wireFrame(5, 1)].map(bodyOf));
    assert.equal(h.frames[0]!.buffer.byteLength, 3000);
  });

  it('rolls over to a fresh arena with the partial frame, and never overwrites frames handed out', () => {
    const h = harness(1024);
    const sent = Array.from({ length: 40 }, (_, i) => wireFrame(96 + (i % 5) * 11, i));
    deliverIn(h, Buffer.concat(sent), 250);
    // Checked only at the end: a reused arena would have overwritten early frames by now.
    assert.deepEqual(h.frames, sent.map(bodyOf));
    const arenas = new Set(h.frames.map((f) => f.buffer));
    assert.ok(arenas.size >= 4, `${arenas.size} arenas for ~4.8 KiB through 1 KiB arenas`);
    for (const a of arenas) assert.equal(a.byteLength, 1024);
  });

  it('moves a frame of under half an arena that does not fit the tail to a fresh arena', () => {
    const h = harness(1024);
    h.deliver(wireFrame(700, 1)); // leaves 320 bytes of tail
    const medium = wireFrame(400, 2);
    h.deliver(medium.subarray(0, 100));
    h.deliver(medium.subarray(100));
    assert.deepEqual(h.frames, [wireFrame(700, 1), medium].map(bodyOf));
    assert.notEqual(h.frames[1]!.buffer, h.frames[0]!.buffer);
    assert.equal(h.frames[1]!.buffer.byteLength, 1024, 'an arena, not a buffer of its own');
  });

  for (const size of [-1, 0, 3, 1025]) {
    it(`a frame size of ${size} is reported once and ends the reading`, () => {
      const h = harness(1024, 1024);
      const bad = Buffer.alloc(8);
      bad.writeInt32BE(size, 0);
      h.deliver(Buffer.concat([wireFrame(6, 1), bad.subarray(0, 2)]));
      h.deliver(Buffer.concat([bad.subarray(2), wireFrame(6, 2)]));
      assert.deepEqual(h.frames, [bodyOf(wireFrame(6, 1))]);
      assert.deepEqual(h.badSizes, [size]);
    });
  }

  it('ignores reads after stop()', () => {
    const h = harness(1024);
    h.deliver(wireFrame(10, 1).subarray(0, 8));
    h.reader.stop();
    h.deliver(Buffer.concat([wireFrame(10, 1).subarray(8), wireFrame(3000, 2)]));
    assert.deepEqual(h.frames, []);
  });
});
