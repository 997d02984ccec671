import { opaSprintf } from './go-fmt';
import { parseRegoValue, type RegoValue } from './rego-value';

// Expected strings are what `opa eval` (OPA 1.22) prints for sprintf(format, args) with the same
// Rego literals; test/integration/policy-engine/opa-parity.test.ts compares against opa itself.
const args = (rego: string) => parseRegoValue(rego) as RegoValue[];

describe(opaSprintf.name, () => {
  it.each([
    [
      '%v of an object is its Rego text, keys sorted',
      'privileged: %v',
      '[{"privileged": true, "allowPrivilegeEscalation": false}]',
      'privileged: {"allowPrivilegeEscalation": false, "privileged": true}',
    ],
    ['%v of a set, sorted, numbers before strings', '%v', '[{"b", "a", 3}]', '{3, "a", "b"}'],
    ['the empty set', '%v', '[set()]', 'set()'],
    ['arrays and number literals as written', '%v', '[[1.0, 2, "x"]]', '[1.0, 2, "x"]'],
    ['non-string object keys', '%v', '[{"k": {1, 2}, 3: "x"}]', '{3: "x", "k": {1, 2}}'],
    ['a float argument prints in Go %g form', '%v|%v|%v|%v|%v', '[1.0, 1e6, 0.00001, 123456.0, 1.50]', '1|1e+06|1e-05|123456|1.5'],
    ['integers and strings', '%d|%s|%q|%x|%X|%5d|%-5s|%05d|%.2f', '[42, "str", "q\\"é", "hi", 255, 7, "ab", 3, 3.14159]', '42|str|"q\\"é"|6869|FF|    7|ab   |00003|3.14'],
    ['wrong verbs name the Go type', '%s|%d|%v|%v|%v', '[5, "x", true, null, "plain"]', '%!s(int64=5)|%!d(string=x)|true|null|plain'],
    ['a missing argument', '%v %v', '[1]', '1 %!v(MISSING)'],
    ['an extra argument', '%v', '[1, 2]', '1%!(EXTRA int64=2)'],
    [
      'floats, signs, bases, runes, %T',
      '%e|%g|%.3g|%8.3f|%+d|%x|%o|%b|%c|%t|%T|%T|%T|%%',
      '[1234.5678, 0.000012345, 1234.5678, 3.14159, 5, -255, 8, 5, 65, true, 1, "s", [1]]',
      '1.234568e+03|1.2345e-05|1.23e+03|   3.142|+5|-ff|10|101|A|%!t(string=true)|int64|string|string|%',
    ],
    ['big integers', '%v|%d|%v|%s', '[12345678901234567890, 12345678901234567890, 1.0, 1.5]', '12345678901234567890|12345678901234567890|1|%!s(float64=1.5)'],
    ['composites are strings to Go', '%q|%v|%s', '[["a"], {"b": "x\\ny"}, {"a"}]', '"[\\"a\\"]"|{"b": "x\\ny"}|{"a"}'],
    [
      'zero padding, half-even rounding, precision on %q, %U, %#x',
      '%05s|%.1f|%.0f|%.0f|%5.1q|%U|%#U|%c|%q|%#o|%#x|%#b|%O',
      '["ab", 0.25, 2.5, 3.5, "héllo", 65, 65, 233, 65, 8, 255, 5, 8]',
      "000ab|0.2|2|4|  \"h\"|U+0041|U+0041 'A'|é|'A'|010|0xff|0b101|0o10",
    ],
    [
      'argument indexes, * widths, precision on integers',
      '%[2]v %[1]v|%*d|%v|%v|%v|%v|%.3s|%-05d|%6.2v|%6.2v',
      '["a", "b", 5, 42, 100000.0, 1e21, 123456789.0, 0.1, "héllo", 7, 3.14159, "abc"]',
      'b a|%!(BADWIDTH)5|42|100000|1e+21|1.23456789e+08|%!s(float64=0.1)|%!d(string=héllo)|    07|   3.1',
    ],
    [
      'hex floats, %G, %E, space flag',
      '%x|%X|%e|%g|%G|%E|%.3e|%10.3g|%-10.2f|%+.1f|% d|% d|%+d',
      '[3.5, "Hi", 0, 100000000.0, 1e-7, 12.0, 0.0005, 123456.0, 2.0, -0.05, 5, -5, -5]',
      '0x1.cp+01|4869|%!e(int64=0)|1e+08|1E-07|1.200000E+01|5.000e-04|  1.23e+05|2.00      |-0.1| 5|-5|-5',
    ],
    [
      'negative and big integers in other bases',
      '%d|%v|%s|%x|%o|%b|%c|%.5d|%08d|%-8d|%8s',
      '[-12345678901234567890, -12345678901234567890, 12345678901234567890, 12345678901234567890, 8, -5, 128512, -42, -42, -42, "é"]',
      '-12345678901234567890|-12345678901234567890|12345678901234567890|ab54a98ceb1f0ad2|10|-101|😀|-00042|-0000042|-42     |       é',
    ],
    ['a bad verb, a missing one, no verb', '%!|%z|%', '[1]', '%!!(int64=1)|%!z(MISSING)|%!(NOVERB)'],
    ['negative zero and exponents of %v', '%v|%v|%v|%v|%v', '[-0.0, 1.0e2, 0.000001, 1e-7, 12345678.9]', '-0|100|1e-06|1e-07|1.23456789e+07'],
    [
      'Go quoting: non-printable runes escaped, printable kept; %+q is ASCII; %#v quotes',
      '%q|%v|%#v|%+q|%#q|%x',
      '["a\\u00a0b\\u200bc\\u0007😀", "a", "q", "é", "back`x", ""]',
      '"a\\u00a0b\\u200bc\\a😀"|a|"q"|"\\u00e9"|"back`x"|',
    ],
    ['backquoted when it can be', '%#q', '["plain"]', '`plain`'],
  ])('%s', (_what, format, values, expected) => {
    expect(opaSprintf(format, args(values))).toBe(expected);
  });

  it('prints a string inside a composite with Go escapes, not JSON ones', () => {
    expect(opaSprintf('%v', args('[{"s": "é\\u0001\\t"}]'))).toBe('{"s": "é\\x01\\t"}');
  });
});
