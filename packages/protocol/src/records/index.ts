/** RecordBatch v2: headers and validation (batch.ts), records (record.ts), varints, partitioning. */
export * from './batch.js';
export * from './record.js';
export * from './varint.js';
export * from './partitioner.js';
export * from './limits.js';
export * from './builder.js';
