/** Kubernetes resource quantities (e.g. 250m, 1.5, 128Mi, 1G, 12e3) as numbers of base units. */

const SUFFIX_FACTORS: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The value in base units (cores, bytes, count), or undefined when the text is not a quantity. */
export function parseQuantity(text: string | undefined): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const match = QUANTITY.exec(text.trim());
  if (!match) {
    return undefined;
  }
  const [, number, suffix, exponent] = match;
  const factor = exponent !== undefined ? 10 ** Number(exponent) : SUFFIX_FACTORS[suffix ?? ''];
  return Number(number) * factor;
}

// Float noise (0.1 * 1000 = 100.00000000000001) must not round a whole value up or down.
const EPSILON = 1e-9;

/** CPU in millicores, rounded up as Kubernetes does (MilliValue). */
export function cpuMillis(text: string | undefined): number {
  const cores = parseQuantity(text);
  return cores === undefined || cores <= 0 ? 0 : Math.ceil(cores * 1000 - EPSILON);
}

/** Bytes; 0 for missing or invalid quantities. */
export function bytes(text: string | undefined): number {
  const value = parseQuantity(text);
  return value === undefined || value <= 0 ? 0 : value;
}

export const BYTES_PER_MIB = 2 ** 20;

/** Whole MiB, rounded down (capacity is never overstated). */
export function mibFloor(byteCount: number): number {
  return Math.floor(byteCount / BYTES_PER_MIB + EPSILON);
}

/** Whole MiB, rounded up (requests are never understated). */
export function mibCeil(byteCount: number): number {
  return Math.ceil(byteCount / BYTES_PER_MIB - EPSILON);
}

/** A count such as pods: 110; 0 when missing. */
export function countOf(text: string | undefined): number {
  const value = parseQuantity(text);
  return value === undefined || value <= 0 ? 0 : Math.floor(value + EPSILON);
}
