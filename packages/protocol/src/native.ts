/**
 * The native packages (CRC-32C from @node-rs/crc32; snappy, lz4-napi and zstd-napi for
 * compression) are loaded on first use, not when this package is imported: each costs 20-30 ms of
 * CPU to load, most programs use one compression codec or none, and an admin tool checks no CRC.
 * They are CommonJS, so a synchronous require on the first call suffices.
 */
import { createRequire } from 'node:module';

const requireNative = createRequire(import.meta.url);
const getters: (() => unknown)[] = [];

/** A getter for `specifier`'s exports that loads the package on its first call. */
export function onFirstUse<T>(specifier: string): () => T {
  let loaded: T | undefined;
  const get = (): T => {
    if (loaded === undefined) {
      try {
        loaded = requireNative(specifier) as T;
      } catch (cause) {
        throw new Error(`cannot load the native module ${specifier}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      }
    }
    return loaded;
  };
  getters.push(get);
  return get;
}

/**
 * Loads every native package now; throws naming the first that cannot be loaded. A server calls
 * this at start, so that a broken installation stops it there and not at its first request.
 */
export function loadNativeModules(): void {
  for (const get of getters) get();
}
