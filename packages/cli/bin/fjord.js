#!/usr/bin/env node
import { main } from '../dist/index.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Leave a moment for stdout to drain, then exit even if a background timer is still armed.
  setTimeout(() => process.exit(code), 50).unref();
});
