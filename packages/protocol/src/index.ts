/** @fjord/protocol: the Kafka protocol's codecs (generated from the schemas), framing, records and compression. */
export * from './core.js';
export * from './generated/index.js';
