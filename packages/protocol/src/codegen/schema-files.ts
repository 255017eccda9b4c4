/**
 * Reading Kafka's message-definition files: JSON with `//` comments, sometimes with stray content
 * after the top-level object (see ../shared/kafka-protocol/README.md).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: unknown;
  ignorable?: boolean;
  mapKey?: boolean;
  entityType?: string;
  zeroCopy?: boolean;
  about?: string;
  flexibleVersions?: string;
  fields?: RawField[];
}

export interface RawStruct {
  name: string;
  versions?: string;
  fields: RawField[];
}

export interface RawMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions?: string;
  latestVersionUnstable?: boolean;
  listeners?: string[];
  fields: RawField[];
  commonStructs?: RawStruct[];
}

/** Removes `//` comments that are outside string literals. */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < src.length) {
    const c = src[i]!;
    if (inString) {
      out += c;
      if (c === '\\' && i + 1 < src.length) {
        out += src[i + 1];
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Parses the first top-level JSON object of a schema file, ignoring anything after it. */
export function parseSchemaText(text: string, file = '<input>'): RawMessage {
  const s = stripComments(text);
  const start = s.indexOf('{');
  if (start < 0) throw new Error(`${file}: no JSON object`);
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        try {
          return JSON.parse(s.slice(start, i + 1)) as RawMessage;
        } catch (e) {
          throw new Error(`${file}: ${(e as Error).message}`);
        }
      }
    }
  }
  throw new Error(`${file}: unbalanced braces`);
}

export interface SchemaFile {
  /** File name, e.g. ProduceRequest.json */
  file: string;
  /** Path relative to the schemas root, e.g. messages/ProduceRequest.json */
  relPath: string;
  message: RawMessage;
}

/** All `*.json` schema files of a folder, sorted by name; empty if the folder does not exist. */
export function loadSchemaDir(root: string, relDir: string): SchemaFile[] {
  const dir = join(root, relDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const relPath = `${relDir}/${file}`;
      return { file, relPath, message: parseSchemaText(readFileSync(join(dir, file), 'utf8'), relPath) };
    });
}
