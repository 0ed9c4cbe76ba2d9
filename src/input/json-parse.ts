/**
 * A small JSON parser for exports: every value remembers its line and column, and numbers keep
 * the digits as written (`95.0` stays `95.0`, where `JSON.parse` would give 95 and lose the
 * decimals the item tables check).
 */

interface At {
  line: number;
  column: number;
}

export type JsonNode =
  | (At & { type: 'string'; value: string })
  | (At & { type: 'number'; value: string })
  | (At & { type: 'boolean'; value: boolean })
  | (At & { type: 'null' })
  | (At & { type: 'object'; entries: Array<{ key: string; value: JsonNode }> })
  | (At & { type: 'array'; items: JsonNode[] });

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

const MAX_DEPTH = 64;

/** Parses one JSON value; `line`/`column` are where `text` starts in its file. */
export function parseJson(text: string, line = 1, column = 1): JsonNode {
  const p = new Parser(text, line, column);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i < text.length) p.fail(`unexpected ${p.show()} after the value`);
  return v;
}

class Parser {
  i = 0;
  private lineStart: number;

  constructor(
    private readonly s: string,
    private line: number,
    column: number,
  ) {
    // A negative start makes `column` come out right on the first line.
    this.lineStart = -(column - 1);
  }

  private at(): At {
    return { line: this.line, column: this.i - this.lineStart + 1 };
  }

  fail(message: string): never {
    const a = this.at();
    throw new JsonSyntaxError(message, a.line, a.column);
  }

  show(): string {
    if (this.i >= this.s.length) return 'end of input';
    return JSON.stringify(this.s[this.i]);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x0a) {
        this.line++;
        this.lineStart = this.i + 1;
      } else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
      this.i++;
    }
  }

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const a = this.at();
    const c = this.s[this.i];
    if (c === '{') return this.object(a, depth);
    if (c === '[') return this.array(a, depth);
    if (c === '"') return { ...a, type: 'string', value: this.string() };
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return { ...a, type: 'number', value: this.number() };
    for (const [word, node] of [
      ['true', { type: 'boolean', value: true }],
      ['false', { type: 'boolean', value: false }],
      ['null', { type: 'null' }],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return { ...a, ...node } as JsonNode;
      }
    }
    this.fail(`unexpected ${this.show()} where a value should start`);
  }

  private object(a: At, depth: number): JsonNode {
    this.i++;
    const entries: Array<{ key: string; value: JsonNode }> = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { ...a, type: 'object', entries };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail(`expected a key in double quotes, found ${this.show()}`);
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail(`expected ":" after the key "${key}", found ${this.show()}`);
      this.i++;
      this.ws();
      entries.push({ key, value: this.value(depth + 1) });
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return { ...a, type: 'object', entries };
      }
      this.fail(`expected "," or "}" in the object, found ${this.show()}`);
    }
  }

  private array(a: At, depth: number): JsonNode {
    this.i++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { ...a, type: 'array', items };
    }
    for (;;) {
      this.ws();
      items.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return { ...a, type: 'array', items };
      }
      this.fail(`expected "," or "]" in the array, found ${this.show()}`);
    }
  }

  private string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let from = i;
    for (;;) {
      if (i >= s.length) {
        this.i = i;
        this.fail('a string is not closed');
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(from, i);
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) {
        this.i = i;
        this.fail(c === 0x0a ? 'a line break inside a string (write it as \\n)' : `control character U+${c.toString(16).padStart(4, '0').toUpperCase()} inside a string`);
      }
      if (c === 0x5c) {
        out += s.slice(from, i);
        const e = s[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          this.i = i;
          this.fail(`invalid escape \\${e ?? ''} in a string`);
        }
        from = i;
        continue;
      }
      i++;
    }
  }

  private number(): string {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail(`invalid number starting with ${this.show()}`);
    this.i += m[0].length;
    return m[0];
  }
}

/** RFC 6901: `~` as `~0`, `/` as `~1`. */
export function pointerToken(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}
