/**
 * Protocol code generator.
 *
 *   node packages/protocol/dist/codegen/main.js [--schemas DIR] [--check]
 *
 * Reads Kafka's JSON message schemas (default: `<repo>/../shared/kafka-protocol`, or
 * `$FJORD_SHARED/kafka-protocol`) and writes packages/protocol/src/generated/. With `--check` it
 * writes nothing and exits 1 if any generated file differs from what is on disk (CI); if the schemas
 * are not there at all it says so and exits 0, since they are reference data outside the repo.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAll } from './generate.js';

const here = dirname(fileURLToPath(import.meta.url)); // packages/protocol/dist/codegen
const packageDir = resolve(here, '..', '..');
const repoDir = resolve(packageDir, '..', '..');
const outDir = join(packageDir, 'src', 'generated');

function usage(): never {
  console.error('usage: main.js [--schemas DIR] [--check]');
  process.exit(2);
}

function parseArgs(argv: string[]): { schemas: string; check: boolean } {
  let schemas: string | undefined;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') check = true;
    else if (a === '--schemas') {
      schemas = argv[++i];
      if (!schemas) usage();
    } else usage();
  }
  const shared = process.env.FJORD_SHARED ? resolve(process.env.FJORD_SHARED) : resolve(repoDir, '..', 'shared');
  return { schemas: schemas ? resolve(schemas) : join(shared, 'kafka-protocol'), check };
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out;
}

function main(): void {
  const { schemas, check } = parseArgs(process.argv.slice(2));
  if (!existsSync(join(schemas, 'messages'))) {
    const msg = `codegen: no schemas at ${schemas}`;
    if (check) {
      console.log(`${msg}; skipping the check`);
      return;
    }
    console.error(msg);
    process.exit(1);
  }
  const { files } = generateAll(schemas);
  const existing = listFiles(outDir);
  const changed: string[] = [];
  for (const [path, content] of [...files.entries()].sort()) {
    const full = join(outDir, path);
    const old = existsSync(full) ? readFileSync(full, 'utf8') : null;
    if (old === content) continue;
    changed.push(old === null ? `${path} (missing)` : path);
    if (!check) {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
  for (const path of existing) {
    if (files.has(path) || path.endsWith('.test.ts')) continue;
    changed.push(`${path} (stale)`);
    if (!check) rmSync(join(outDir, path));
  }
  if (check) {
    if (changed.length > 0) {
      console.error(`codegen --check: ${changed.length} generated file(s) differ from the schemas; run \`npm run codegen\`:`);
      for (const c of changed) console.error(`  src/generated/${c}`);
      process.exit(1);
    }
    console.log(`codegen --check: ${files.size} generated files are up to date`);
    return;
  }
  console.log(`codegen: ${files.size} files, ${changed.length} changed (schemas: ${schemas})`);
}

main();
