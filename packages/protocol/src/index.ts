export {};
export * from './records/index.js';
export * from './compression/index.js';
