import { ErrorCode, FarpointError } from '../../common/errors/farpoint-error';
import { type PlacedCluster, placeClusters, planWaves, REST_WAVE } from './wave-plan';

function refusal(run: () => unknown): FarpointError {
  try {
    run();
  } catch (error) {
    if (error instanceof FarpointError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('planWaves', () => {
  it('adds the rest wave unless the last wave is 100 %', () => {
    expect(
      planWaves([
        { name: 'canary', clusterSelector: 'canary=true' },
        { name: 'quarter', percent: 25 },
      ]).map((w) => w.name),
    ).toEqual(['canary', 'quarter', REST_WAVE]);
    expect(
      planWaves([
        { name: 'half', percent: 50 },
        { name: 'all', percent: 100 },
      ]).map((w) => w.name),
    ).toEqual(['half', 'all']);
  });

  it.each([
    ['no waves', [], 'input.rollout.waves'],
    ['both selector and percent', [{ name: 'a', clusterSelector: 'x=y', percent: 10 }], 'input.rollout.waves[0]'],
    ['neither', [{ name: 'a' }], 'input.rollout.waves[0]'],
    ['a bad selector', [{ name: 'a', clusterSelector: 'x in (' }], 'input.rollout.waves[0].clusterSelector'],
    ['an empty selector', [{ name: 'a', clusterSelector: ' ' }], 'input.rollout.waves[0].clusterSelector'],
    [
      'percent not increasing',
      [
        { name: 'a', percent: 50 },
        { name: 'b', percent: 50 },
      ],
      'input.rollout.waves[1].percent',
    ],
    ['percent above 100', [{ name: 'a', percent: 101 }], 'input.rollout.waves[0].percent'],
    ['percent not an integer', [{ name: 'a', percent: 2.5 }], 'input.rollout.waves[0].percent'],
    [
      'a wave after 100 %',
      [
        { name: 'a', percent: 100 },
        { name: 'b', clusterSelector: 'x=y' },
      ],
      'input.rollout.waves[1]',
    ],
    [
      'a duplicate name',
      [
        { name: 'a', percent: 10 },
        { name: 'a', percent: 20 },
      ],
      'input.rollout.waves[1].name',
    ],
    ['the reserved name', [{ name: 'rest', percent: 10 }], 'input.rollout.waves[0].name'],
    ['a name that is no DNS label', [{ name: 'Canary Stores', percent: 10 }], 'input.rollout.waves[0].name'],
    ['eleven waves', Array.from({ length: 11 }, (_, i) => ({ name: `w${i}`, percent: i + 1 })), 'input.rollout.waves'],
  ])('refuses %s with BAD_USER_INPUT naming the field', (_case, specs, field) => {
    const error = refusal(() => planWaves(specs));
    expect(error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(error.details.field).toBe(field);
  });
});

describe('placeClusters', () => {
  const fleet: PlacedCluster[] = Array.from({ length: 100 }, (_, i) => ({ id: `c${String(i).padStart(3, '0')}`, labels: Object.fromEntries(i < 3 ? [['canary', 'true']] : []) }));

  it('fills selector waves first, then percent waves up to their cumulative share, then the rest', () => {
    const waves = planWaves([
      { name: 'canary', clusterSelector: 'canary=true' },
      { name: 'quarter', percent: 25 },
    ]);
    const placed = placeClusters(fleet, waves, 'rollout-1');
    const count = (w: number) => [...placed.values()].filter((x) => x === w).length;
    expect([count(0), count(1), count(2)]).toEqual([3, 22, 75]);
    expect(['c000', 'c001', 'c002'].map((id) => placed.get(id))).toEqual([0, 0, 0]);
    expect(placed.size).toBe(100);
  });

  it('is the same for the same seed and spreads differently for another', () => {
    const waves = planWaves([{ name: 'tenth', percent: 10 }]);
    const a = placeClusters(fleet, waves, 'seed-a');
    expect(placeClusters([...fleet].reverse(), waves, 'seed-a')).toEqual(a);
    const b = placeClusters(fleet, waves, 'seed-b');
    const first = (m: Map<string, number>) =>
      [...m]
        .filter(([, w]) => w === 0)
        .map(([id]) => id)
        .sort();
    expect(first(b)).not.toEqual(first(a));
  });

  it('rounds a percent wave up so a small fleet still gets a canary', () => {
    const placed = placeClusters(fleet.slice(0, 3), planWaves([{ name: 'one', percent: 1 }]), 's');
    expect([...placed.values()].filter((w) => w === 0)).toHaveLength(1);
  });
});
