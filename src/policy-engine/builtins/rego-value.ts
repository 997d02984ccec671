/**
 * Rego values as opa_value_dump prints them (JSON plus sets, non-string object keys, and numbers as
 * their literal text). sprintf needs them: OPA formats a set as {"a", "b"}, an object key 3 as 3, and
 * the number 1.50 as written, none of which survive a JSON round trip.
 */

export class RegoNumber {
  constructor(readonly text: string) {}
}
export class RegoSet {
  constructor(readonly items: RegoValue[]) {}
}
export class RegoObject {
  constructor(readonly entries: [RegoValue, RegoValue][]) {}
}
export type RegoValue = null | boolean | string | RegoNumber | RegoValue[] | RegoSet | RegoObject;

/** Parses the text of opa_value_dump. Throws on anything else. */
export function parseRegoValue(text: string): RegoValue {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\t' || text[i] === '\r')) i++;
  };
  const fail = (): never => {
    throw new Error(`unexpected value dump at ${i}: ${text.slice(i, i + 20)}`);
  };
  const value = (): RegoValue => {
    ws();
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      return JSON.parse(text.slice(start, i)) as string;
    }
    if (c === '[') {
      i++;
      const items: RegoValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return items;
        } else fail();
      }
    }
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return new RegoObject([]);
      }
      const first = value();
      ws();
      if (text[i] === ':') {
        const entries: [RegoValue, RegoValue][] = [];
        let key = first;
        for (;;) {
          i++; // ':'
          entries.push([key, value()]);
          ws();
          if (text[i] === '}') {
            i++;
            return new RegoObject(entries);
          }
          if (text[i] !== ',') fail();
          i++;
          key = value();
          ws();
          if (text[i] !== ':') fail();
        }
      }
      const items = [first];
      for (;;) {
        if (text[i] === '}') {
          i++;
          return new RegoSet(items);
        }
        if (text[i] !== ',') fail();
        i++;
        items.push(value());
        ws();
      }
    }
    if (text.startsWith('set()', i)) {
      i += 5;
      return new RegoSet([]);
    }
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?[0-9][0-9]*(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
    return new RegoNumber(m![0]);
  };
  const result = value();
  ws();
  if (i !== text.length) fail();
  return result;
}

const typeRank = (v: RegoValue): number => {
  if (v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (v instanceof RegoNumber) return 2;
  if (typeof v === 'string') return 3;
  if (Array.isArray(v)) return 4;
  if (v instanceof RegoObject) return 5;
  return 6; // set
};

const INTEGER = /^-?[0-9]+$/;

function compareNumbers(a: string, b: string): number {
  if (INTEGER.test(a) && INTEGER.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = Number(a);
  const y = Number(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Go compares strings byte-wise in UTF-8, which is code point order (not UTF-16 unit order). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1; // a surrogate (≥ U+10000) sorts after any BMP code unit
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

function sortedEntries(o: RegoObject): [RegoValue, RegoValue][] {
  return [...o.entries].sort((x, y) => compareRego(x[0], y[0]));
}

/** OPA's ast.Compare: null < booleans < numbers < strings < arrays < objects < sets. */
export function compareRego(a: RegoValue, b: RegoValue): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (a === null) return 0;
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (a instanceof RegoNumber) return compareNumbers(a.text, (b as RegoNumber).text);
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (Array.isArray(a)) return compareLists(a, b as RegoValue[]);
  if (a instanceof RegoObject) {
    const x = sortedEntries(a);
    const y = sortedEntries(b as RegoObject);
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      const k = compareRego(x[i][0], y[i][0]);
      if (k !== 0) return k;
      const v = compareRego(x[i][1], y[i][1]);
      if (v !== 0) return v;
    }
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }
  return compareLists(sortedSet(a as RegoSet), sortedSet(b as RegoSet));
}

function compareLists(x: RegoValue[], y: RegoValue[]): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareRego(x[i], y[i]);
    if (c !== 0) return c;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

const sortedSet = (s: RegoSet) => [...s.items].sort(compareRego);

/** Go's strconv.Quote: printable runes as they are, the rest escaped (\a \b \f \n \r \t \v, \xNN, \uNNNN, \UNNNNNNNN). */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp < 0x80 ? cp >= 0x20 && cp !== 0x7f : !asciiOnly && isPrint(ch)) out += ch;
    else out += escapeRune(cp);
  }
  return out + '"';
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const isPrint = (ch: string) => ch === ' ' || PRINTABLE.test(ch);

function escapeRune(cp: number): string {
  switch (cp) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate is not a valid rune
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** OPA's Term.String(): what sprintf prints for anything that is not a number or a string. */
export function regoString(v: RegoValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof RegoNumber) return v.text;
  if (typeof v === 'string') return goQuote(v);
  if (Array.isArray(v)) return `[${v.map(regoString).join(', ')}]`;
  if (v instanceof RegoObject) return `{${sortedEntries(v).map(([k, x]) => `${regoString(k)}: ${regoString(x)}`).join(', ')}}`;
  return v.items.length === 0 ? 'set()' : `{${sortedSet(v).map(regoString).join(', ')}}`;
}

/** A Rego value as plain JSON data (sets as sorted arrays, object keys as their string form). */
export function regoToJson(v: RegoValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof RegoNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(regoToJson);
  if (v instanceof RegoObject) return Object.fromEntries(v.entries.map(([k, x]) => [typeof k === 'string' ? k : regoString(k), regoToJson(x)]));
  return sortedSet(v).map(regoToJson);
}
