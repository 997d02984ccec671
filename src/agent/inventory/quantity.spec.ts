import { bytes, countOf, cpuMillis, mibCeil, mibFloor, parseQuantity } from './quantity';

describe(parseQuantity.name, () => {
  it.each([
    ['250m', 0.25],
    ['2', 2],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['128Mi', 128 * 2 ** 20],
    ['16393388Ki', 16393388 * 1024],
    ['1G', 1e9],
    ['1k', 1000],
    ['12e3', 12000],
    ['1E3', 1000],
    ['1E', 1e18],
    ['500u', 0.0005],
  ])('reads %s', (text, expected) => {
    expect(parseQuantity(text)).toBeCloseTo(expected, 9);
  });

  it.each(['', 'abc', '1.2.3', '5 Mi', '1Xi'])('rejects %p', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('unit conversions', () => {
  it('rounds CPU up to whole millicores without float noise', () => {
    expect(cpuMillis('0.1')).toBe(100);
    expect(cpuMillis('100m')).toBe(100);
    expect(cpuMillis('1500u')).toBe(2);
    expect(cpuMillis(undefined)).toBe(0);
  });

  it('rounds capacity memory down and requested memory up to MiB', () => {
    expect(mibFloor(bytes('8148820Ki'))).toBe(7957);
    expect(mibCeil(bytes('100M'))).toBe(96);
    expect(mibCeil(bytes('64Mi'))).toBe(64);
    expect(mibFloor(bytes('64Mi'))).toBe(64);
  });

  it('reads counts', () => {
    expect(countOf('110')).toBe(110);
    expect(countOf(undefined)).toBe(0);
  });
});
