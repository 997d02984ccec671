import { FarpointError } from '../errors/farpoint-error';
import { matchesLabels, parseLabelSelector } from './label-selector';

describe(parseLabelSelector.name, () => {
  it('parses equality, set, existence and negation terms', () => {
    expect(parseLabelSelector('tier=edge,env in (prod, stage),!canary,gpu,zone!=a,app==web,os notin (win)')).toEqual([
      { key: 'tier', op: 'eq', value: 'edge' },
      { key: 'env', op: 'in', values: ['prod', 'stage'] },
      { key: 'canary', op: 'notexists' },
      { key: 'gpu', op: 'exists' },
      { key: 'zone', op: 'neq', value: 'a' },
      { key: 'app', op: 'eq', value: 'web' },
      { key: 'os', op: 'notin', values: ['win'] },
    ]);
  });

  it('accepts prefixed keys like Kubernetes', () => {
    expect(parseLabelSelector('farpoint.dev/site-tier=far-edge')).toEqual([{ key: 'farpoint.dev/site-tier', op: 'eq', value: 'far-edge' }]);
  });

  it('treats an empty selector as matching everything', () => {
    expect(parseLabelSelector('  ')).toEqual([]);
  });

  it.each(['tier=', 'env in ()', 'env in (prod', 'a=b)', '=x', 'tier=edge,,x', 'bad key=1', 'k=-x-', 'x'.repeat(64)])('rejects %p with BAD_USER_INPUT', (selector) => {
    if (selector === 'tier=') {
      // An empty value is valid in Kubernetes (matches the empty string).
      expect(parseLabelSelector(selector)).toEqual([{ key: 'tier', op: 'eq', value: '' }]);
      return;
    }
    expect(() => parseLabelSelector(selector)).toThrow(FarpointError);
    try {
      parseLabelSelector(selector);
    } catch (e) {
      expect((e as FarpointError).code).toBe('BAD_USER_INPUT');
      expect((e as FarpointError).message).toContain(selector);
    }
  });
});

describe(matchesLabels.name, () => {
  const labels = { tier: 'edge', env: 'prod' };
  it.each([
    ['tier=edge', true],
    ['tier=core', false],
    ['env in (prod,stage)', true],
    ['env notin (prod)', false],
    ['missing notin (x)', true],
    ['missing!=x', true],
    ['!canary', true],
    ['!tier', false],
    ['tier,env', true],
  ])('%s → %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });
});
