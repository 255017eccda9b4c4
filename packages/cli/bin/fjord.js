#!/usr/bin/env node
import { main } from '../dist/index.js';

let finished = false;
// A command whose work ran out without it finishing (a promise nobody will settle) is a bug:
// say so and fail, instead of Node exiting quietly with code 0.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('fjord: internal error: the command stopped without finishing (run again with --verbose and report it)\n');
  process.exit(1);
});

main(process.argv.slice(2)).then((code) => {
  finished = true;
  process.exitCode = code;
  // Leave a moment for stdout to drain, then exit even if a background timer is still armed.
  setTimeout(() => process.exit(code), 50).unref();
});
