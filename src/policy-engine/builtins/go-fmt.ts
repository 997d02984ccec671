import { RegoNumber, regoString, goQuote, type RegoValue } from './rego-value';

/**
 * OPA's sprintf: Go's fmt.Sprintf over the arguments as OPA hands them to Go (topdown/strings.go):
 * a number is an int64 when its text is an integer that fits, else a *big.Int when it is an integer,
 * else a float64; a string is a string; anything else is its Rego text ({"a": 1}, ["x"], {"a", "b"},
 * true, null) passed as a string. Go's verbs, flags, widths, precisions, argument indexes and its
 * error forms (%!d(string=x), %!v(MISSING), %!(EXTRA …), %!(NOVERB), %!(BADWIDTH)) are reproduced.
 */
export function opaSprintf(format: string, values: RegoValue[]): string {
  return goSprintf(format, values.map(toGoArg));
}

export type GoArg = { type: 'int64'; v: bigint } | { type: 'bigint'; v: bigint } | { type: 'float64'; v: number } | { type: 'string'; v: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function toGoArg(value: RegoValue): GoArg {
  if (value instanceof RegoNumber) {
    const text = value.text;
    if (/^[+-]?[0-9]+$/.test(text)) {
      const n = BigInt(text);
      return n >= INT64_MIN && n <= INT64_MAX ? { type: 'int64', v: n } : { type: 'bigint', v: n };
    }
    const f = Number(text);
    return Number.isNaN(f) ? { type: 'string', v: text } : { type: 'float64', v: f };
  }
  if (typeof value === 'string') {
    return { type: 'string', v: value };
  }
  return { type: 'string', v: regoString(value) };
}

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

const goTypeName = (a: GoArg) => (a.type === 'bigint' ? '*big.Int' : a.type);

export function goSprintf(format: string, args: GoArg[]): string {
  let out = '';
  let argNum = 0;
  let reordered = false;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct === -1) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Flags = { plus: false, minus: false, sharp: false, space: false, zero: false };
    for (; i < n; i++) {
      const c = format[i];
      if (c === '#') {
        f.sharp = true;
      } else if (c === '0') {
        f.zero = !f.minus;
      } else if (c === '+') {
        f.plus = true;
      } else if (c === '-') {
        f.minus = true;
        f.zero = false;
      } else if (c === ' ') {
        f.space = true;
      } else {
        break;
      }
    }
    // [n] argument index, then width (digits or *), then .precision (digits or *)
    const argIndex = () => {
      if (format[i] !== '[') {
        return;
      }
      const close = format.indexOf(']', i);
      const idx = close === -1 ? NaN : Number(format.slice(i + 1, close));
      reordered = true;
      if (Number.isInteger(idx) && idx >= 1 && close !== -1) {
        argNum = idx - 1;
        i = close + 1;
      } else {
        argNum = args.length + 1; // Go: %!v(BADINDEX); treated as missing
        i = close === -1 ? n : close + 1;
      }
    };
    argIndex();
    let badWidth = false;
    if (format[i] === '*') {
      i++;
      const a = args[argNum++];
      if (a && a.type === 'int64' && a.v >= -1_000_000n && a.v <= 1_000_000n) {
        f.width = Number(a.v);
        if (f.width < 0) {
          f.minus = true;
          f.zero = false;
          f.width = -f.width;
        }
      } else {
        badWidth = true;
      }
    } else {
      const m = /^[0-9]+/.exec(format.slice(i, i + 10));
      if (m) {
        f.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (badWidth) {
      out += '%!(BADWIDTH)';
    }
    if (format[i] === '.') {
      i++;
      argIndex();
      if (format[i] === '*') {
        i++;
        const a = args[argNum++];
        if (a && a.type === 'int64' && a.v >= 0n && a.v <= 1_000_000n) {
          f.prec = Number(a.v);
        } else {
          out += '%!(BADPREC)';
        }
      } else {
        const m = /^[0-9]+/.exec(format.slice(i, i + 10));
        f.prec = m ? Number(m[0]) : 0;
        if (m) {
          i += m[0].length;
        }
      }
    }
    argIndex();
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argNum++];
    if (verb === 'v') {
      // %+v and %#v: plus/sharp mean struct fields and Go syntax there, not signs
      const sharpV = f.sharp;
      f.sharp = false;
      f.plus = false;
      if (sharpV && arg.type === 'string') {
        out += pad(goQuote(arg.v), f);
        continue;
      }
    }
    out += formatArg(arg, verb, f);
  }
  if (!reordered && argNum < args.length) {
    out +=
      '%!(EXTRA ' +
      args
        .slice(argNum)
        .map((a) => `${goTypeName(a)}=${formatArg(a, 'v', { plus: false, minus: false, sharp: false, space: false, zero: false })}`)
        .join(', ') +
      ')';
  }
  return out;
}

function badVerb(arg: GoArg, verb: string): string {
  const plain: Flags = { plus: false, minus: false, sharp: false, space: false, zero: false };
  const name = arg.type === 'bigint' ? 'big.Int' : arg.type;
  return `%!${verb}(${name}=${formatArg(arg, 'v', plain)})`;
}

function formatArg(arg: GoArg, verb: string, f: Flags): string {
  switch (arg.type) {
    case 'string':
      if (verb === 'T') {
        return pad('string', f);
      }
      return formatString(arg.v, verb, f) ?? badVerb(arg, verb);
    case 'int64':
      if (verb === 'T') {
        return pad('int64', f);
      }
      return formatInteger(arg.v, verb, f, true) ?? badVerb(arg, verb);
    case 'bigint':
      if (verb === 'T') {
        return pad('*big.Int', f);
      }
      return formatInteger(arg.v, verb === 's' ? 'd' : verb, f, false) ?? badVerb(arg, verb);
    case 'float64':
      if (verb === 'T') {
        return pad('float64', f);
      }
      return formatFloat(arg.v, verb, f) ?? badVerb(arg, verb);
  }
}

const runeLength = (s: string) => {
  let count = 0;
  for (const _ of s) {
    count++;
  }
  return count;
};

/** Pads to the width with spaces (or zeros for the 0 flag), on the right for the - flag. */
function pad(s: string, f: Flags): string {
  if (f.width === undefined) {
    return s;
  }
  const missing = f.width - runeLength(s);
  if (missing <= 0) {
    return s;
  }
  if (f.minus) {
    return s + ' '.repeat(missing);
  }
  return (f.zero ? '0' : ' ').repeat(missing) + s;
}

function truncateRunes(s: string, prec: number | undefined): string {
  if (prec === undefined) {
    return s;
  }
  let out = '';
  let count = 0;
  for (const ch of s) {
    if (count++ >= prec) {
      break;
    }
    out += ch;
  }
  return out;
}

function formatString(s: string, verb: string, f: Flags): string | undefined {
  switch (verb) {
    case 'v':
    case 's':
      return pad(truncateRunes(s, f.prec), f);
    case 'q': {
      const t = truncateRunes(s, f.prec);
      if (f.sharp && !/[`\u0000-\u0008\u000a-\u001f\u007f\ufeff]/.test(t)) {
        return pad('`' + t + '`', f);
      }
      return pad(goQuote(t, f.plus), f);
    }
    case 'x':
    case 'X': {
      let bytes = Buffer.from(s, 'utf8');
      if (f.prec !== undefined) {
        bytes = bytes.subarray(0, f.prec);
      }
      const digits = verb === 'x' ? '0123456789abcdef' : '0123456789ABCDEF';
      const prefix = verb === 'x' ? '0x' : '0X';
      let out = '';
      bytes.forEach((b, idx) => {
        if (f.space && idx > 0) {
          out += ' ';
        }
        if (f.sharp && (f.space || idx === 0)) {
          out += prefix;
        }
        out += digits[b >> 4] + digits[b & 15];
      });
      return pad(out, f);
    }
    default:
      return undefined;
  }
}

function formatInteger(v: bigint, verb: string, f: Flags, isInt64: boolean): string | undefined {
  const negative = v < 0n;
  const abs = negative ? -v : v;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd':
      digits = abs.toString(10);
      break;
    case 'b':
      digits = abs.toString(2);
      if (f.sharp) {
        prefix = '0b';
      }
      break;
    case 'o':
      digits = abs.toString(8);
      if (f.sharp) {
        prefix = '0';
      }
      break;
    case 'O':
      digits = abs.toString(8);
      prefix = '0o';
      break;
    case 'x':
      digits = abs.toString(16);
      if (f.sharp) {
        prefix = '0x';
      }
      break;
    case 'X':
      digits = abs.toString(16).toUpperCase();
      if (f.sharp) {
        prefix = '0X';
      }
      break;
    case 'c':
      if (!isInt64) {
        return undefined;
      }
      return pad(runeOf(v), f);
    case 'q':
      if (!isInt64) {
        return undefined;
      }
      return pad(quoteRune(v, f.plus), f);
    case 'U': {
      if (!isInt64) {
        return undefined;
      }
      let u = 'U+' + (negative ? (2n ** 64n + v).toString(16) : abs.toString(16)).toUpperCase().padStart(4, '0');
      if (f.sharp && v >= 0n && v <= 0x10ffffn) {
        u += ` '${runeOf(v)}'`;
      }
      return pad(u, f);
    }
    default:
      return undefined;
  }
  if (f.prec !== undefined) {
    if (f.prec === 0 && v === 0n) {
      digits = '';
    } else {
      digits = digits.padStart(f.prec, '0');
    }
  } else if (f.zero && f.width !== undefined && !f.minus) {
    const sign = negative || f.plus || f.space ? 1 : 0;
    digits = digits.padStart(f.width - sign - prefix.length, '0');
  }
  if (prefix === '0' && digits.startsWith('0')) {
    prefix = '';
  }
  const sign = negative ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  return pad(sign + prefix + digits, { ...f, zero: false });
}

function runeOf(v: bigint): string {
  const cp = Number(v);
  return v < 0n || v > 0x10ffffn || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp);
}

function quoteRune(v: bigint, asciiOnly: boolean): string {
  const ch = runeOf(v);
  if (ch === "'") {
    return "'\\''";
  }
  if (ch === '"') {
    return `'"'`;
  }
  return "'" + goQuote(ch, asciiOnly).slice(1, -1) + "'";
}

// ---- floats ----------------------------------------------------------------------------------

/** Exact decimal expansion of a finite double: digits (no leading zeros) and the decimal point position. */
function exactDecimal(x: number): { digits: string; dp: number } {
  if (x === 0) {
    return { digits: '', dp: 0 };
  }
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const bits = buf.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e2: number;
  if (exp === 0) {
    e2 = -1074;
  } else {
    mant |= 1n << 52n;
    e2 = exp - 1075;
  }
  let digits: string;
  let dp: number;
  if (e2 >= 0) {
    digits = (mant << BigInt(e2)).toString();
    dp = digits.length;
  } else {
    // mant / 2^-e2 = mant * 5^-e2 / 10^-e2
    digits = (mant * 5n ** BigInt(-e2)).toString();
    dp = digits.length + e2;
  }
  const trimmed = digits.replace(/0+$/, '');
  return { digits: trimmed, dp };
}

/** Rounds a decimal to `nd` significant digits, half to even, as Go's strconv does. */
function roundDigits(d: { digits: string; dp: number }, nd: number): { digits: string; dp: number } {
  if (nd < 0) {
    return { digits: '', dp: d.dp };
  }
  if (d.digits.length <= nd) {
    return d;
  }
  const keep = d.digits.slice(0, nd);
  const next = d.digits.charCodeAt(nd) - 48;
  const rest = d.digits.slice(nd + 1);
  const roundUp = next > 5 || (next === 5 && (/[1-9]/.test(rest) || (nd > 0 && (keep.charCodeAt(nd - 1) - 48) % 2 === 1)));
  if (!roundUp) {
    return { digits: keep.replace(/0+$/, ''), dp: d.dp };
  }
  // add one ulp at position nd
  const arr = keep.split('').map(Number);
  let k = arr.length - 1;
  while (k >= 0 && arr[k] === 9) {
    arr[k] = 0;
    k--;
  }
  if (k < 0) {
    return { digits: '1', dp: d.dp + 1 };
  }
  arr[k]++;
  return { digits: arr.join('').replace(/0+$/, ''), dp: d.dp };
}

/** Shortest digits that round-trip (JavaScript and Go both pick the closest shortest). */
function shortestDecimal(x: number): { digits: string; dp: number } {
  if (x === 0) {
    return { digits: '', dp: 0 };
  }
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '');
  return { digits, dp: Number(exponent) + 1 };
}

function fmtE(d: { digits: string; dp: number }, prec: number, e: string): string {
  const digits = d.digits.padEnd(prec + 1, '0');
  let s = digits[0] || '0';
  if (prec > 0) {
    s += '.' + digits.slice(1, prec + 1);
  }
  const exp = d.digits === '' ? 0 : d.dp - 1;
  const abs = Math.abs(exp);
  return s + e + (exp < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + abs;
}

function fmtF(d: { digits: string; dp: number }, prec: number): string {
  let intPart = '';
  if (d.dp > 0) {
    intPart = d.digits.slice(0, d.dp).padEnd(d.dp, '0');
  } else {
    intPart = '0';
  }
  let s = intPart || '0';
  if (prec > 0) {
    let frac = '';
    for (let j = 0; j < prec; j++) {
      const idx = d.dp + j;
      frac += idx >= 0 && idx < d.digits.length ? d.digits[idx] : '0';
    }
    s += '.' + frac;
  }
  return s;
}

/** strconv.FormatFloat(x, verb, prec, 64) for e E f F g G; prec -1 = shortest. */
function strconvFloat(x: number, verb: string, prec: number): string {
  const neg = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  const shortest = prec < 0;
  let d: { digits: string; dp: number };
  let body: string;
  const lower = verb.toLowerCase();
  if (shortest) {
    d = shortestDecimal(abs);
    if (lower === 'e') {
      prec = Math.max(d.digits.length - 1, 0);
    } else if (lower === 'f') {
      prec = Math.max(d.digits.length - d.dp, 0);
    } else {
      prec = d.digits.length;
    }
  } else {
    const exact = exactDecimal(abs);
    if (lower === 'e') {
      d = roundDigits(exact, prec + 1);
    } else if (lower === 'f') {
      d = roundDigits(exact, exact.dp + prec);
    } else {
      if (prec === 0) {
        prec = 1;
      }
      d = roundDigits(exact, prec);
    }
  }
  if (lower === 'e') {
    body = fmtE(d, prec, verb === 'E' ? 'E' : 'e');
  } else if (lower === 'f') {
    body = fmtF(d, prec);
  } else {
    let eprec = prec;
    const nd = d.digits.length;
    if (eprec > nd && nd >= d.dp) {
      eprec = nd;
    }
    if (shortest) {
      eprec = 6;
    }
    const exp = d.digits === '' ? 0 : d.dp - 1;
    if (exp < -4 || exp >= eprec) {
      if (prec > nd) {
        prec = nd;
      }
      body = fmtE(d, Math.max(prec - 1, 0), verb === 'G' ? 'E' : 'e');
    } else {
      if (prec > d.dp) {
        prec = nd;
      }
      body = fmtF(d, Math.max(prec - d.dp, 0));
    }
  }
  return (neg ? '-' : '') + body;
}

function formatFloat(x: number, verb: string, f: Flags): string | undefined {
  let prec: number;
  let v = verb;
  switch (verb) {
    case 'v':
      v = 'g';
      prec = -1;
      break;
    case 'g':
    case 'G':
      prec = -1;
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
      prec = 6;
      if (verb === 'F') {
        v = 'f';
      }
      break;
    case 'x':
    case 'X': {
      // shortest hexadecimal mantissa (precisions are not applied here)
      const hex = hexFloat(x);
      return pad(verb === 'X' ? hex.toUpperCase() : hex, f);
    }
    default:
      return undefined;
  }
  if (f.prec !== undefined) {
    prec = f.prec;
  }
  let num = strconvFloat(x, v, prec);
  let sign = '+';
  if (num.startsWith('-')) {
    sign = '-';
    num = num.slice(1);
  }
  if (f.space && sign === '+' && !f.plus) {
    sign = ' ';
  }
  if (f.plus || sign !== '+') {
    if (f.zero && !f.minus && f.width !== undefined && f.width > num.length + 1) {
      return sign + '0'.repeat(f.width - num.length - 1) + num;
    }
    return pad(sign + num, { ...f, zero: f.zero });
  }
  return pad(num, f);
}

/** strconv.FormatFloat(x, 'x', -1, 64): -0x1.cp+01. */
function hexFloat(x: number): string {
  const neg = x < 0 || Object.is(x, -0);
  if (x === 0) {
    return (neg ? '-' : '') + '0x0p+00';
  }
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const bits = buf.getBigUint64(0);
  let exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (exp === 0) {
    // subnormal: normalise so that the leading 1 is implicit
    exp = -1022;
    while (!(mant & (1n << 52n))) {
      mant <<= 1n;
      exp--;
    }
    mant &= (1n << 52n) - 1n;
    exp++;
  } else {
    exp -= 1023;
  }
  const frac = mant.toString(16).padStart(13, '0').replace(/0+$/, '');
  const e = Math.abs(exp);
  return `${neg ? '-' : ''}0x1${frac ? '.' + frac : ''}p${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}
