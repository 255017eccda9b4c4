/** A tiny line-based code buffer with two-space indentation. */
export class CodeWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text = ''): this {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text);
    return this;
  }

  /** Writes `head {`, the body one level deeper, then `tail` (default `}`). */
  block(head: string, body: () => void, tail = '}'): this {
    this.line(head ? `${head} {` : '{');
    this.depth++;
    body();
    this.depth--;
    this.line(tail);
    return this;
  }

  /** Writes `head` as it is, the body one level deeper, then `tail`. */
  open(head: string, body: () => void, tail: string): this {
    this.line(head);
    this.depth++;
    body();
    this.depth--;
    this.line(tail);
    return this;
  }

  /**
   * Continues the block just closed: `} else {`, `} catch (e) {`. The previous line must be that
   * block's closing brace.
   */
  chain(head: string, body: () => void): this {
    const close = '  '.repeat(this.depth) + '}';
    if (this.lines[this.lines.length - 1] !== close) throw new Error(`chain(${head}): previous line is not a closing brace`);
    this.lines[this.lines.length - 1] = `${close} ${head} {`;
    this.depth++;
    body();
    this.depth--;
    this.line('}');
    return this;
  }

  indent(body: () => void): this {
    this.depth++;
    body();
    this.depth--;
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** A JSDoc comment (wrapped to about 100 columns), or nothing for an empty text. */
export function docComment(w: CodeWriter, text: string): void {
  const clean = text.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim();
  if (!clean) return;
  const words = clean.split(' ');
  const out: string[] = [];
  let cur = '';
  for (const word of words) {
    if (cur && cur.length + word.length + 1 > 96) {
      out.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) out.push(cur);
  if (out.length === 1) w.line(`/** ${out[0]} */`);
  else {
    w.line('/**');
    for (const l of out) w.line(` * ${l}`);
    w.line(' */');
  }
}
