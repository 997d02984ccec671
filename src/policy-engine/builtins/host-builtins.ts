import { createHash } from 'node:crypto';
import { opaSprintf } from './go-fmt';
import { RegoSet, type RegoValue } from './rego-value';

/**
 * The builtins `opa build -t wasm` leaves to the host (a policy's wasm lists them in builtins()),
 * implemented as OPA does in topdown/, with OPA's default (non-strict) error semantics: a builtin
 * that fails makes its expression undefined (return undefined here), it does not fail the query.
 * Builtins not listed here are refused when a bundle is loaded (BUILTIN_UNSUPPORTED), naming them.
 */

/** A number result given as its exact decimal text (nanosecond timestamps do not fit a double). */
export class RawNumber {
  constructor(readonly text: string) {}
}

export interface HostBuiltin {
  /** 'json': arguments as JSON data (sets as arrays); 'value': Rego values with sets and number texts. */
  readonly args: 'json' | 'value';
  readonly fn: (context: EvaluationContext, ...args: never[]) => unknown;
}

/** Per-evaluation state OPA keeps per query (time.now_ns is one instant for the whole query). */
export interface EvaluationContext {
  nowNs?: bigint;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const stringsOf = (v: unknown): string[] | undefined => {
  if (isString(v)) {
    return [v];
  }
  if (Array.isArray(v) && v.every(isString)) {
    return v;
  }
  return undefined;
};

// ---- regular expressions (Go's RE2 syntax, translated where JavaScript differs) -----------------

const regexCache = new Map<string, RegExp | null>();
const REGEX_CACHE_SIZE = 500;

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** A global RegExp for an RE2 pattern, or null when it does not compile. */
export function goRegex(pattern: string): RegExp | null {
  const cached = regexCache.get(pattern);
  if (cached !== undefined) {
    return cached;
  }
  let source = pattern;
  let flags = 'gu';
  const inline = /^\(\?([imsU]+)\)/.exec(source);
  if (inline) {
    if (inline[1].includes('U')) {
      return remember(pattern, null);
    }
    for (const f of inline[1]) {
      if (!flags.includes(f)) {
        flags += f;
      }
    }
    source = source.slice(inline[0].length);
  }
  source = source
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '(?![\\s\\S])')
    .replace(/\[:(\^?)([a-z]+):\]/g, (all: string, neg: string, name: string) => (POSIX_CLASSES[name] && !neg ? POSIX_CLASSES[name] : all));
  let re: RegExp | null;
  try {
    re = new RegExp(source, flags);
  } catch {
    re = null;
  }
  return remember(pattern, re);
}

function remember(pattern: string, re: RegExp | null): RegExp | null {
  if (regexCache.size >= REGEX_CACHE_SIZE) {
    regexCache.delete(regexCache.keys().next().value!);
  }
  regexCache.set(pattern, re);
  return re;
}

/** Go's FindAllStringIndex: no empty match right after a previous match; n < 0 means all. */
function findAll(re: RegExp, s: string, n: number): [number, number][] {
  const out: [number, number][] = [];
  let pos = 0;
  let prevEnd = -1;
  while ((n < 0 || out.length < n) && pos <= s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) {
      break;
    }
    const start = m.index;
    const end = start + m[0].length;
    let accept = true;
    if (end === start) {
      if (start === prevEnd) {
        accept = false;
      }
      const cp = s.codePointAt(start);
      pos = start + (cp !== undefined && cp > 0xffff ? 2 : 1);
    } else {
      pos = end;
    }
    prevEnd = end;
    if (accept) {
      out.push([start, end]);
    }
  }
  return out;
}

function goSplit(re: RegExp, pattern: string, s: string): string[] {
  if (pattern.length > 0 && s.length === 0) {
    return [''];
  }
  const parts: string[] = [];
  let beg = 0;
  let end = 0;
  for (const [a, b] of findAll(re, s, -1)) {
    end = a;
    if (b !== 0) {
      parts.push(s.slice(beg, end));
    }
    beg = b;
  }
  if (end !== s.length) {
    parts.push(s.slice(beg));
  }
  return parts;
}

/** Go's Regexp.ReplaceAllString: $1, ${1}, $name, ${name}; $$ is a dollar. */
function goReplaceAll(re: RegExp, s: string, template: string): string {
  let out = '';
  let last = 0;
  for (const [a, b] of findAll(re, s, -1)) {
    re.lastIndex = a;
    const m = re.exec(s)!;
    out += s.slice(last, a);
    out += template.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (all: string, _x: string, braced?: string, bare?: string) => {
      if (all === '$$') {
        return '$';
      }
      const name = braced ?? bare!;
      const group = /^[0-9]+$/.test(name) ? m[Number(name)] : m.groups?.[name];
      return group ?? '';
    });
    last = b;
  }
  return out + s.slice(last);
}

// ---- units -------------------------------------------------------------------------------------

const BYTE_UNITS: Record<string, bigint> = { '': 1n };
const DECIMAL = ['k', 'm', 'g', 't', 'p', 'e'];
DECIMAL.forEach((u, i) => {
  BYTE_UNITS[u] = BYTE_UNITS[`${u}b`] = 1000n ** BigInt(i + 1);
  BYTE_UNITS[`${u}i`] = BYTE_UNITS[`${u}ib`] = 1024n ** BigInt(i + 1);
});

/** A decimal text as numerator / 10^scale, exactly. */
function decimalParts(text: string): { num: bigint; scale: number } | undefined {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) {
    return undefined;
  }
  const frac = m[3] ?? '';
  let num = BigInt((m[2] || '0') + frac);
  let scale = frac.length;
  const exp = m[4] ? Number(m[4]) : 0;
  if (Math.abs(exp) > 400) {
    return undefined;
  }
  if (exp > 0) {
    num *= 10n ** BigInt(exp);
  } else {
    scale -= exp;
  }
  if (m[1] === '-') {
    num = -num;
  }
  return { num, scale };
}

function unitsParseBytes(_c: EvaluationContext, x: unknown): unknown {
  if (!isString(x)) {
    return undefined;
  }
  const s = x.replace(/"/g, '').toLowerCase();
  if (s.includes(' ')) {
    return undefined;
  }
  const m = /^([0-9.]*)(.*)$/.exec(s)!;
  if (m[1] === '') {
    return undefined;
  }
  const amount = decimalParts(m[1]);
  const factor = BYTE_UNITS[m[2]];
  if (!amount || factor === undefined) {
    return undefined;
  }
  return new RawNumber(((amount.num * factor) / 10n ** BigInt(amount.scale)).toString());
}

const SI: Record<string, [bigint, bigint]> = { '': [1n, 1n], m: [1n, 1000n] };
['K', 'M', 'G', 'T', 'P', 'E'].forEach((u, i) => {
  SI[u] = [1000n ** BigInt(i + 1), 1n];
  SI[`${u}i`] = [1024n ** BigInt(i + 1), 1n];
});
SI.k = SI.K;

function unitsParse(_c: EvaluationContext, x: unknown): unknown {
  if (!isString(x)) {
    return undefined;
  }
  const s = x.replace(/"/g, '');
  if (s.includes(' ')) {
    return undefined;
  }
  // the number may use scientific notation; the unit is what follows (m milli, M mega; the rest case-insensitive)
  const m = /^([+-]?[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?)(.*)$/.exec(s)!;
  if (m[1] === '') {
    return undefined;
  }
  let unit = m[2];
  if (unit.length > 1) {
    unit = unit[0] + unit.slice(1).toLowerCase();
  }
  if (unit.length >= 1 && unit !== 'm' && unit[0] !== 'M') {
    unit = unit[0].toUpperCase() + unit.slice(1);
  }
  const scale = SI[unit];
  const amount = decimalParts(m[1]);
  if (!scale || !amount) {
    return undefined;
  }
  // value = num * mul / (div * 10^scale), printed as an integer when exact, else with 10 decimals
  const numerator = amount.num * scale[0];
  const denominator = scale[1] * 10n ** BigInt(amount.scale);
  if (numerator % denominator === 0n) {
    return new RawNumber((numerator / denominator).toString());
  }
  // big.Rat.FloatString(10): ten decimals, the last rounded half away from zero
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  const scaled = (abs * 10n ** 10n * 2n + denominator) / (2n * denominator);
  const whole = (scaled / 10n ** 10n).toString();
  const frac = (scaled % 10n ** 10n).toString().padStart(10, '0');
  return new RawNumber(`${negative ? '-' : ''}${whole}.${frac}`);
}

// ---- time --------------------------------------------------------------------------------------

const DURATION_UNITS: Record<string, bigint> = { ns: 1n, us: 1000n, µs: 1000n, μs: 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** Go's time.ParseDuration. */
function parseDurationNs(_c: EvaluationContext, x: unknown): unknown {
  if (!isString(x)) {
    return undefined;
  }
  let s = x;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') {
    return new RawNumber('0');
  }
  if (s === '') {
    return undefined;
  }
  let total = 0n;
  const part = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
      return undefined;
    }
    const unit = DURATION_UNITS[m[3]];
    const frac = m[2] ?? '';
    total += BigInt(m[1] || '0') * unit + (BigInt(frac || '0') * unit) / 10n ** BigInt(frac.length);
    s = s.slice(m[0].length);
  }
  if (total > 2n ** 63n - 1n) {
    return undefined;
  }
  return new RawNumber((negative ? -total : total).toString());
}

const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})$/;

function parseRfc3339Ns(_c: EvaluationContext, x: unknown): unknown {
  if (!isString(x)) {
    return undefined;
  }
  const m = RFC3339.exec(x);
  if (!m) {
    return undefined;
  }
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  const check = new Date(ms);
  if (mo < 1 || mo > 12 || check.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) {
    return undefined;
  }
  let ns = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  if (m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1n : 1n;
    const [oh, om] = m[8].slice(1).split(':').map(Number);
    if (oh > 23 || om > 59) {
      return undefined;
    }
    ns -= sign * BigInt(oh * 3600 + om * 60) * 1_000_000_000n;
  }
  return new RawNumber(ns.toString());
}

/** time.date/clock/weekday take ns or [ns, tz]; only UTC ("" or "UTC") is supported here, other zones are undefined. */
function utcDate(x: unknown): Date | undefined {
  let ns: unknown = x;
  if (Array.isArray(x)) {
    if (x.length !== 2 || !isString(x[1]) || (x[1] !== '' && x[1] !== 'UTC')) {
      return undefined;
    }
    ns = x[0];
  }
  if (!isNumber(ns)) {
    return undefined;
  }
  return new Date(Math.floor(ns / 1e6));
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// ---- semver ------------------------------------------------------------------------------------

const SEMVER =
  /^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

function semverCompare(a: string, b: string): number | undefined {
  const x = SEMVER.exec(a);
  const y = SEMVER.exec(b);
  if (!x || !y) {
    return undefined;
  }
  for (let i = 1; i <= 3; i++) {
    const d = BigInt(x[i]) - BigInt(y[i]);
    if (d !== 0n) {
      return d < 0n ? -1 : 1;
    }
  }
  const pa = x[4];
  const pb = y[4];
  if (pa === undefined || pb === undefined) {
    return pa === pb ? 0 : pa === undefined ? 1 : -1;
  }
  const ia = pa.split('.');
  const ib = pb.split('.');
  for (let i = 0; i < Math.min(ia.length, ib.length); i++) {
    const na = /^[0-9]+$/.test(ia[i]);
    const nb = /^[0-9]+$/.test(ib[i]);
    if (na && nb) {
      const d = BigInt(ia[i]) - BigInt(ib[i]);
      if (d !== 0n) {
        return d < 0n ? -1 : 1;
      }
    } else if (na !== nb) {
      return na ? -1 : 1;
    } else if (ia[i] !== ib[i]) {
      return ia[i] < ib[i] ? -1 : 1;
    }
  }
  return ia.length === ib.length ? 0 : ia.length < ib.length ? -1 : 1;
}

// ---- url query ---------------------------------------------------------------------------------

function queryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) {
      out += c;
    } else if (c === ' ') {
      out += '+';
    } else {
      out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

function queryUnescape(s: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        return undefined;
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// ---- the table ---------------------------------------------------------------------------------

const json = (fn: (c: EvaluationContext, ...args: never[]) => unknown): HostBuiltin => ({ args: 'json', fn });
const hash = (algorithm: string) => json((_c, x: unknown) => (isString(x) ? createHash(algorithm).update(x, 'utf8').digest('hex') : undefined));
const anyMatch = (test: (s: string, b: string) => boolean) =>
  json((_c, search: unknown, base: unknown) => {
    const s = stringsOf(search);
    const b = stringsOf(base);
    return s && b ? s.some((x) => b.some((y) => test(x, y))) : undefined;
  });

export const HOST_BUILTINS: Readonly<Record<string, HostBuiltin>> = {
  sprintf: {
    args: 'value',
    fn: (_c, format: RegoValue, values: RegoValue) => (isString(format) && Array.isArray(values) && !(values instanceof RegoSet) ? opaSprintf(format, values) : undefined),
  },
  'strings.any_prefix_match': anyMatch((s, b) => s.startsWith(b)),
  'strings.any_suffix_match': anyMatch((s, b) => s.endsWith(b)),
  'strings.count': json((_c, search: unknown, sub: unknown) => {
    if (!isString(search) || !isString(sub)) {
      return undefined;
    }
    if (sub === '') {
      return [...search].length + 1;
    }
    return search.split(sub).length - 1;
  }),
  'regex.split': json((_c, pattern: unknown, s: unknown) => {
    const re = isString(pattern) && isString(s) ? goRegex(pattern) : null;
    return re ? goSplit(re, pattern as string, s as string) : undefined;
  }),
  'regex.find_n': json((_c, pattern: unknown, s: unknown, n: unknown) => {
    const re = isString(pattern) && isString(s) && isNumber(n) && Number.isInteger(n) ? goRegex(pattern) : null;
    return re ? findAll(re, s as string, n as number).map(([a, b]) => (s as string).slice(a, b)) : undefined;
  }),
  'regex.replace': json((_c, s: unknown, pattern: unknown, value: unknown) => {
    const re = isString(s) && isString(pattern) && isString(value) ? goRegex(pattern) : null;
    return re ? goReplaceAll(re, s as string, value as string) : undefined;
  }),
  'units.parse_bytes': json(unitsParseBytes),
  'units.parse': json(unitsParse),
  'time.now_ns': json((c) => {
    c.nowNs ??= BigInt(Date.now()) * 1_000_000n;
    return new RawNumber(c.nowNs.toString());
  }),
  'time.parse_rfc3339_ns': json(parseRfc3339Ns),
  'time.parse_duration_ns': json(parseDurationNs),
  'time.date': json((_c, x: unknown) => {
    const d = utcDate(x);
    return d ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()] : undefined;
  }),
  'time.clock': json((_c, x: unknown) => {
    const d = utcDate(x);
    return d ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()] : undefined;
  }),
  'time.weekday': json((_c, x: unknown) => {
    const d = utcDate(x);
    return d ? WEEKDAYS[d.getUTCDay()] : undefined;
  }),
  'semver.compare': json((_c, a: unknown, b: unknown) => (isString(a) && isString(b) ? semverCompare(a, b) : undefined)),
  'semver.is_valid': json((_c, a: unknown) => isString(a) && SEMVER.test(a)),
  'urlquery.encode': json((_c, s: unknown) => (isString(s) ? queryEscape(s) : undefined)),
  'urlquery.decode': json((_c, s: unknown) => (isString(s) ? queryUnescape(s) : undefined)),
  'crypto.sha256': hash('sha256'),
  'crypto.sha1': hash('sha1'),
  'crypto.md5': hash('md5'),
  'hex.encode': json((_c, s: unknown) => (isString(s) ? Buffer.from(s, 'utf8').toString('hex') : undefined)),
  'numbers.range_step': json((_c, a: unknown, b: unknown, step: unknown) => {
    if (![a, b, step].every((v) => isNumber(v) && Number.isInteger(v)) || (step as number) <= 0) {
      return undefined;
    }
    const [from, to, by] = [a, b, step] as number[];
    if (Math.abs(to - from) / by > 10_000_000) {
      return undefined;
    }
    const out: number[] = [];
    if (from <= to) {
      for (let v = from; v <= to; v += by) {
        out.push(v);
      }
    } else {
      for (let v = from; v >= to; v -= by) {
        out.push(v);
      }
    }
    return out;
  }),
  'net.cidr_is_valid': json((_c, s: unknown) => {
    if (!isString(s)) {
      return false;
    }
    const m = /^(.+)\/([0-9]{1,3})$/.exec(s);
    if (!m) {
      return false;
    }
    const bits = Number(m[2]);
    const v4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/.test(m[1]);
    if (v4) {
      return bits <= 32;
    }
    const v6 = m[1].includes(':') && /^[0-9A-Fa-f:.]+$/.test(m[1]) && (m[1].match(/::/g) ?? []).length <= 1;
    return v6 && bits <= 128;
  }),
};

export const SUPPORTED_HOST_BUILTINS: readonly string[] = Object.keys(HOST_BUILTINS).sort();
