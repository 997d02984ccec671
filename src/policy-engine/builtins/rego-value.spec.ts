import { compareRego, compareStrings, goQuote, parseRegoValue, RegoNumber, RegoObject, RegoSet, regoString, regoToJson } from './rego-value';

describe(parseRegoValue.name, () => {
  it('reads what opa_value_dump prints: sets, non-string keys, number texts', () => {
    const v = parseRegoValue('[{"f": 1e3, "n": 1.50, "s": "é\\u0001"}, {3, "b", "a"}, set(), {"k": {1, 2}, 3: "x"}, null, true, false, -2]');
    expect(Array.isArray(v)).toBe(true);
    const [obj, set, empty, keyed, n, t, f, neg] = v as unknown[];
    expect(obj).toBeInstanceOf(RegoObject);
    expect((obj as RegoObject).entries.map(([k, x]) => [k, x instanceof RegoNumber ? x.text : x])).toEqual([
      ['f', '1e3'],
      ['n', '1.50'],
      ['s', 'é\u0001'],
    ]);
    expect(set).toBeInstanceOf(RegoSet);
    expect((empty as RegoSet).items).toEqual([]);
    expect((keyed as RegoObject).entries[1][0]).toEqual(new RegoNumber('3'));
    expect([n, t, f, (neg as RegoNumber).text]).toEqual([null, true, false, '-2']);
  });

  it('tells an empty object from a set', () => {
    expect(parseRegoValue('{}')).toEqual(new RegoObject([]));
    expect(parseRegoValue('{"a"}')).toEqual(new RegoSet(['a']));
  });

  it('refuses text that is not a value dump', () => {
    expect(() => parseRegoValue('{"a": }')).toThrow();
    expect(() => parseRegoValue('[1] trailing')).toThrow();
  });
});

describe(regoString.name, () => {
  it('prints like OPA: sorted sets and keys, Go-quoted strings', () => {
    expect(regoString(parseRegoValue('{"b": [1, "x"], "a": {2, 1}, 1: null}'))).toBe('{1: null, "a": {1, 2}, "b": [1, "x"]}');
  });
});

describe(compareRego.name, () => {
  it('orders null < booleans < numbers < strings < arrays < objects < sets', () => {
    const values = parseRegoValue('[{1}, {"a": 1}, [1], "a", 2, true, false, null]') as never[];
    const sorted = [...values].sort(compareRego).map(regoString);
    expect(sorted).toEqual(['null', 'false', 'true', '2', '"a"', '[1]', '{"a": 1}', '{1}']);
  });

  it('compares numbers by value (big integers exactly) and strings by code point', () => {
    expect(compareRego(new RegoNumber('10'), new RegoNumber('9.5'))).toBe(1);
    expect(compareRego(new RegoNumber('12345678901234567891'), new RegoNumber('12345678901234567890'))).toBe(1);
    expect(compareStrings('\uffff', '😀')).toBe(-1); // U+FFFF < U+1F600 although its UTF-16 unit is larger
  });
});

describe(regoToJson.name, () => {
  it('turns sets into sorted arrays and keys into strings', () => {
    expect(regoToJson(parseRegoValue('{"s": {"b", "a"}, 3: 1.5}'))).toEqual({ s: ['a', 'b'], '3': 1.5 });
  });
});

describe(goQuote.name, () => {
  it('escapes as strconv.Quote', () => {
    expect(goQuote('a"b\\c\n\u0001\u007f\u00ad😀')).toBe('"a\\"b\\\\c\\n\\x01\\x7f\\u00ad😀"');
    expect(goQuote('é', true)).toBe('"\\u00e9"');
  });
});
