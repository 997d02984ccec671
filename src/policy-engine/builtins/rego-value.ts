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

/** Parses the text of opa_value_dump. Throws on anything else. (On every decision's path: kept lean.) */
export function parseRegoValue(text: string): RegoValue {
  let i = 0;
  const n = text.length;
  const fail = (): never => {
    throw new Error(`unexpected value dump at ${i}: ${text.slice(i, i + 20)}`);
  };
  const ws = () => {
    let c = text.charCodeAt(i);
    while (c === 32 || c === 10 || c === 9 || c === 13) {
      c = text.charCodeAt(++i);
    }
  };
  const string = (): string => {
    const start = i + 1;
    let end = text.indexOf('"', start);
    let escaped = false;
    for (;;) {
      if (end === -1) {
        fail();
      }
      // an escaped quote has an odd number of backslashes before it
      let k = end - 1;
      while (k >= start && text.charCodeAt(k) === 92) {
        k--;
      }
      if ((end - 1 - k) % 2 === 0) {
        break;
      }
      escaped = true;
      end = text.indexOf('"', end + 1);
    }
    i = end + 1;
    const raw = text.slice(start, end);
    return escaped || raw.indexOf('\\') !== -1 ? (JSON.parse(text.slice(start - 1, end + 1)) as string) : raw;
  };
  const value = (): RegoValue => {
    ws();
    const c = text.charCodeAt(i);
    if (c === 34) {
      return string();
    } // "
    if (c === 91) {
      // [
      i++;
      const items: RegoValue[] = [];
      ws();
      if (text.charCodeAt(i) === 93) {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        const d = text.charCodeAt(i++);
        if (d === 93) {
          return items;
        }
        if (d !== 44) {
          fail();
        }
      }
    }
    if (c === 123) {
      // { : an object or a set
      i++;
      ws();
      if (text.charCodeAt(i) === 125) {
        i++;
        return new RegoObject([]);
      }
      const first = value();
      ws();
      if (text.charCodeAt(i) === 58) {
        const entries: [RegoValue, RegoValue][] = [];
        let key = first;
        for (;;) {
          i++; // ':'
          entries.push([key, value()]);
          ws();
          const d = text.charCodeAt(i++);
          if (d === 125) {
            return new RegoObject(entries);
          }
          if (d !== 44) {
            fail();
          }
          key = value();
          ws();
          if (text.charCodeAt(i) !== 58) {
            fail();
          }
        }
      }
      const items = [first];
      for (;;) {
        const d = text.charCodeAt(i++);
        if (d === 125) {
          return new RegoSet(items);
        }
        if (d !== 44) {
          fail();
        }
        items.push(value());
        ws();
      }
    }
    if (c === 116 && text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (c === 102 && text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (c === 110 && text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    if (c === 115 && text.startsWith('set()', i)) {
      i += 5;
      return new RegoSet([]);
    }
    // a number: its text as written
    const start = i;
    if (c === 45) {
      i++;
    }
    let d = text.charCodeAt(i);
    if (!(d >= 48 && d <= 57)) {
      fail();
    }
    while (i < n && ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45)) {
      d = text.charCodeAt(++i);
    }
    return new RegoNumber(text.slice(start, i));
  };
  const result = value();
  ws();
  if (i !== n) {
    fail();
  }
  return result;
}

const typeRank = (v: RegoValue): number => {
  if (v === null) {
    return 0;
  }
  if (typeof v === 'boolean') {
    return 1;
  }
  if (v instanceof RegoNumber) {
    return 2;
  }
  if (typeof v === 'string') {
    return 3;
  }
  if (Array.isArray(v)) {
    return 4;
  }
  if (v instanceof RegoObject) {
    return 5;
  }
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
    if (x === y) {
      continue;
    }
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) {
      return xs ? 1 : -1;
    } // a surrogate (≥ U+10000) sorts after any BMP code unit
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
  if (ra !== rb) {
    return ra < rb ? -1 : 1;
  }
  if (a === null) {
    return 0;
  }
  if (typeof a === 'boolean') {
    return a === b ? 0 : a ? 1 : -1;
  }
  if (a instanceof RegoNumber) {
    return compareNumbers(a.text, (b as RegoNumber).text);
  }
  if (typeof a === 'string') {
    return compareStrings(a, b as string);
  }
  if (Array.isArray(a)) {
    return compareLists(a, b as RegoValue[]);
  }
  if (a instanceof RegoObject) {
    const x = sortedEntries(a);
    const y = sortedEntries(b as RegoObject);
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      const k = compareRego(x[i][0], y[i][0]);
      if (k !== 0) {
        return k;
      }
      const v = compareRego(x[i][1], y[i][1]);
      if (v !== 0) {
        return v;
      }
    }
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }
  return compareLists(sortedSet(a), sortedSet(b as RegoSet));
}

function compareLists(x: RegoValue[], y: RegoValue[]): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareRego(x[i], y[i]);
    if (c !== 0) {
      return c;
    }
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

const sortedSet = (s: RegoSet) => [...s.items].sort(compareRego);

/** Go's strconv.Quote: printable runes as they are, the rest escaped (\a \b \f \n \r \t \v, \xNN, \uNNNN, \UNNNNNNNN). */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
    } else if (cp < 0x80 ? cp >= 0x20 && cp !== 0x7f : !asciiOnly && isPrint(ch)) {
      out += ch;
    } else {
      out += escapeRune(cp);
    }
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
  if (cp < 0x20 || cp === 0x7f) {
    return '\\x' + cp.toString(16).padStart(2, '0');
  }
  if (cp >= 0xd800 && cp <= 0xdfff) {
    cp = 0xfffd;
  } // a lone surrogate is not a valid rune
  if (cp < 0x10000) {
    return '\\u' + cp.toString(16).padStart(4, '0');
  }
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** OPA's Term.String(): what sprintf prints for anything that is not a number or a string. */
export function regoString(v: RegoValue): string {
  if (v === null) {
    return 'null';
  }
  if (typeof v === 'boolean') {
    return v ? 'true' : 'false';
  }
  if (v instanceof RegoNumber) {
    return v.text;
  }
  if (typeof v === 'string') {
    return goQuote(v);
  }
  if (Array.isArray(v)) {
    return `[${v.map(regoString).join(', ')}]`;
  }
  if (v instanceof RegoObject) {
    return `{${sortedEntries(v)
      .map(([k, x]) => `${regoString(k)}: ${regoString(x)}`)
      .join(', ')}}`;
  }
  return v.items.length === 0 ? 'set()' : `{${sortedSet(v).map(regoString).join(', ')}}`;
}

/** A Rego value as plain JSON data (sets as sorted arrays, object keys as their string form). */
export function regoToJson(v: RegoValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') {
    return v;
  }
  if (v instanceof RegoNumber) {
    return Number(v.text);
  }
  if (Array.isArray(v)) {
    return v.map(regoToJson);
  }
  if (v instanceof RegoObject) {
    return Object.fromEntries(v.entries.map(([k, x]) => [typeof k === 'string' ? k : regoString(k), regoToJson(x)]));
  }
  return sortedSet(v).map(regoToJson);
}
