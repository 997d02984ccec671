import { HOST_BUILTINS, RawNumber, SUPPORTED_HOST_BUILTINS } from './host-builtins';

// Expected values are opa eval's (OPA 1.22, --strict-builtin-errors shows the failures as errors;
// by default they make the expression undefined, which is undefined here).
const call = (name: string, ...args: unknown[]) => {
  const result = (HOST_BUILTINS[name].fn as (c: object, ...a: unknown[]) => unknown)({}, ...args);
  return result instanceof RawNumber ? `#${result.text}` : result;
};

describe('host builtins', () => {
  it('lists what the engine provides', () => {
    expect(SUPPORTED_HOST_BUILTINS).toEqual(
      expect.arrayContaining(['sprintf', 'units.parse_bytes', 'regex.split', 'strings.any_prefix_match', 'time.parse_duration_ns', 'semver.compare']),
    );
    expect(SUPPORTED_HOST_BUILTINS).not.toContain('http.send');
  });

  it.each([
    ['1.5Ki', '#1536'],
    ['10GB', '#10000000000'],
    ['"3m"', '#3000000'],
    ['0.3', '#0'],
    ['1.9999', '#1'],
    ['7', '#7'],
    ['1 k', undefined],
    ['lots', undefined],
    ['12XB', undefined],
  ])('units.parse_bytes(%j) = %j', (input, expected) => {
    expect(call('units.parse_bytes', input)).toBe(expected);
  });

  it.each([
    ['100m', '#0.1000000000'],
    ['1.5Ki', '#1536'],
    ['1e-3K', '#1'],
    ['2M', '#2000000'],
    ['1e3', '#1000'],
    ['3E', '#3000000000000000000'],
    ['1mi', '#1048576'],
    ['1MI', '#1048576'],
    ['-1.5k', '#-1500'],
    ['0.3333333333333m', '#0.0003333333'],
    ['1/3', undefined],
    ['1 k', undefined],
  ])('units.parse(%j) = %j', (input, expected) => {
    expect(call('units.parse', input)).toBe(expected);
  });

  it('parses durations and RFC 3339 times to nanoseconds exactly', () => {
    expect(call('time.parse_duration_ns', '1h30m')).toBe('#5400000000000');
    expect(call('time.parse_duration_ns', '1.5s')).toBe('#1500000000');
    expect(call('time.parse_duration_ns', '-2us')).toBe('#-2000');
    expect(call('time.parse_duration_ns', '5')).toBeUndefined();
    expect(call('time.parse_rfc3339_ns', '2020-01-02T03:04:05.123456789+02:00')).toBe('#1577927045123456789');
    expect(call('time.parse_rfc3339_ns', '1960-01-01T00:00:00Z')).toBe('#-315619200000000000');
    expect(call('time.parse_rfc3339_ns', '2020-02-30T00:00:00Z')).toBeUndefined();
    expect(call('time.date', 1700000000000000000)).toEqual([2023, 11, 14]);
    expect(call('time.clock', 1700000000000000000)).toEqual([22, 13, 20]);
    expect(call('time.weekday', 1700000000000000000)).toBe('Tuesday');
    expect(call('time.date', [1700000000000000000, 'Europe/Paris'])).toBeUndefined();
  });

  it('compares semantic versions', () => {
    expect(call('semver.compare', '1.0.0-alpha', '1.0.0')).toBe(-1);
    expect(call('semver.compare', '1.0.0-alpha.1', '1.0.0-alpha.beta')).toBe(-1);
    expect(call('semver.compare', '1.10.0', '1.9.0')).toBe(1);
    expect(call('semver.compare', '1.0.0+a', '1.0.0+b')).toBe(0);
    expect(call('semver.is_valid', 'v1.0.0')).toBe(true);
    expect(call('semver.is_valid', '1.0')).toBe(false);
  });

  it('splits, finds and replaces with Go regexp semantics', () => {
    expect(call('regex.split', 'a*', 'baaac')).toEqual(['b', 'c']);
    expect(call('regex.split', ',', '')).toEqual(['']);
    expect(call('regex.split', 'x', 'axbx')).toEqual(['a', 'b', '']);
    expect(call('regex.find_n', 'a.', 'a1a2a3', 2)).toEqual(['a1', 'a2']);
    expect(call('regex.find_n', '', 'ab', -1)).toEqual(['', '', '']);
    expect(call('regex.replace', 'a1b22', '[0-9]+', '<$0>')).toBe('a<1>b<22>');
    expect(call('regex.split', '(?i)X', 'axbX')).toEqual(['a', 'b', '']);
    expect(call('regex.split', '(', 'a')).toBeUndefined();
  });

  it('matches prefixes and suffixes of strings or lists, counts substrings', () => {
    expect(call('strings.any_prefix_match', ['a', 'b'], ['x', 'b'])).toBe(true);
    expect(call('strings.any_suffix_match', 'abc', ['zz', 'bc'])).toBe(true);
    expect(call('strings.any_prefix_match', 'abc', 'x')).toBe(false);
    expect(call('strings.count', 'cheese', 'e')).toBe(3);
    expect(call('strings.count', 'five', '')).toBe(5);
  });

  it('encodes queries and hashes like Go', () => {
    expect(call('urlquery.encode', 'a b&c=d/é~')).toBe('a+b%26c%3Dd%2F%C3%A9~');
    expect(call('urlquery.decode', 'a+b%2F')).toBe('a b/');
    expect(call('urlquery.decode', '%zz')).toBeUndefined();
    expect(call('crypto.md5', 'a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(call('hex.encode', 'é')).toBe('c3a9');
    expect(call('numbers.range_step', 1, 10, 3)).toEqual([1, 4, 7, 10]);
    expect(call('net.cidr_is_valid', '10.0.0.0/33')).toBe(false);
    expect(call('net.cidr_is_valid', 'fd00::/8')).toBe(true);
  });

  it('keeps time.now_ns fixed within one evaluation', () => {
    const context = {};
    const fn = HOST_BUILTINS['time.now_ns'].fn as (c: object) => RawNumber;
    expect(fn(context).text).toBe(fn(context).text);
  });
});
