import { createHash } from 'node:crypto';
import { FarpointError } from '../../common/errors/farpoint-error';
import { matchesLabels, parseLabelSelector } from '../../common/labels/label-selector';

/** One wave of a staged rollout, as stored (PolicyRollout.waves). */
export interface RolloutWave {
  name: string;
  /** The clusters not yet placed that this Kubernetes label selector selects. */
  clusterSelector: string | null;
  /** Clusters until this share (cumulative, 1-100) of all the rollout reaches is placed. */
  percent: number | null;
}

export interface RolloutWaveSpec {
  name: string;
  clusterSelector?: string | null;
  percent?: number | null;
}

/** The wave that takes whatever the given waves left: added when the last given wave is not a 100 % one. */
export const REST_WAVE = 'rest';
export const MAX_WAVES = 10;
const WAVE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Validates the waves a user asked for and returns them as stored, the implicit last wave included.
 * Waves fill in order: a selector wave takes the clusters it selects among those not placed yet, a
 * percent wave takes clusters until that share of the whole rollout is placed, and `rest` takes the rest.
 */
export function planWaves(specs: RolloutWaveSpec[], field = 'input.rollout.waves'): RolloutWave[] {
  if (specs.length === 0 || specs.length > MAX_WAVES) {
    throw FarpointError.badInput(`A staged rollout has 1 to ${MAX_WAVES} waves (got ${specs.length}).`, field);
  }
  const names = new Set<string>();
  let lastPercent = 0;
  const waves: RolloutWave[] = specs.map((spec, i) => {
    const at = `${field}[${i}]`;
    if (!WAVE_NAME.test(spec.name) || spec.name === REST_WAVE) {
      throw FarpointError.badInput(`Wave name "${spec.name}" must be a DNS label (lowercase letters, digits and '-', at most 63) other than "${REST_WAVE}".`, `${at}.name`);
    }
    if (names.has(spec.name)) {
      throw FarpointError.badInput(`Wave name "${spec.name}" is used twice.`, `${at}.name`);
    }
    names.add(spec.name);
    const hasSelector = spec.clusterSelector !== undefined && spec.clusterSelector !== null;
    const hasPercent = spec.percent !== undefined && spec.percent !== null;
    if (hasSelector === hasPercent) {
      throw FarpointError.badInput(`Wave "${spec.name}" needs exactly one of clusterSelector and percent.`, at);
    }
    if (lastPercent === 100) {
      throw FarpointError.badInput(`Wave "${spec.name}" follows a 100 % wave, which leaves it no clusters.`, at);
    }
    if (hasSelector) {
      const selector = spec.clusterSelector!.trim();
      if (selector === '') {
        throw FarpointError.badInput(`Wave "${spec.name}": an empty clusterSelector selects every cluster; use percent: 100.`, `${at}.clusterSelector`);
      }
      try {
        parseLabelSelector(selector);
      } catch (error) {
        if (error instanceof FarpointError) {
          throw new FarpointError(error.code, error.message, { ...error.details, field: `${at}.clusterSelector` });
        }
        throw error;
      }
      return { name: spec.name, clusterSelector: selector, percent: null };
    }
    const percent = spec.percent!;
    if (!Number.isInteger(percent) || percent < 1 || percent > 100 || percent <= lastPercent) {
      throw FarpointError.badInput(`Wave "${spec.name}": percent must be an integer from 1 to 100, above the waves before it (${lastPercent}).`, `${at}.percent`);
    }
    lastPercent = percent;
    return { name: spec.name, clusterSelector: null, percent };
  });
  if (lastPercent !== 100) {
    waves.push({ name: REST_WAVE, clusterSelector: null, percent: 100 });
  }
  return waves;
}

export interface PlacedCluster {
  id: string;
  labels: Record<string, string>;
}

/**
 * The wave of each cluster (index into `waves`). Percent waves take clusters in an order shuffled by
 * `seed` (the rollout id): spread over sites rather than alphabetical, and the same on every call.
 */
export function placeClusters(clusters: PlacedCluster[], waves: RolloutWave[], seed: string): Map<string, number> {
  const order = clusters
    .map((c) => ({ c, key: createHash('sha256').update(`${seed}/${c.id}`).digest('hex') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.c);
  const placed = new Map<string, number>();
  waves.forEach((wave, index) => {
    if (wave.clusterSelector !== null) {
      const requirements = parseLabelSelector(wave.clusterSelector);
      for (const c of order) {
        if (!placed.has(c.id) && matchesLabels(requirements, c.labels)) {
          placed.set(c.id, index);
        }
      }
      return;
    }
    const target = Math.ceil(((wave.percent ?? 100) / 100) * order.length);
    for (const c of order) {
      if (placed.size >= target) {
        break;
      }
      if (!placed.has(c.id)) {
        placed.set(c.id, index);
      }
    }
  });
  return placed;
}
