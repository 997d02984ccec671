import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where a queued attach may connect. A kubeconfig's server is user input, so without this the worker
 * would dial whatever it names: cloud metadata, the worker's own loopback services, the private
 * network. Link-local, metadata, unspecified and multicast addresses are never dialled; loopback,
 * private and carrier-grade NAT ranges only when listed in ATTACH_ALLOWED_CIDRS (on-prem fleets
 * live there); public addresses are allowed.
 */
export class EgressRefusedError extends Error {
  readonly code = 'FARPOINT_EGRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'EgressRefusedError';
  }
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Every address a host name resolves to (an IP literal resolves to itself). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** A network and prefix length, e.g. ['10.0.0.0', 8]. */
export type CidrRange = readonly [string, number];

// Checked in order, so the metadata addresses are named as such although a wider class holds them.
const NEVER: readonly { what: string; ranges: readonly CidrRange[] }[] = [
  {
    what: 'a cloud metadata address',
    ranges: [
      ['169.254.169.254', 32],
      ['fd00:ec2::254', 128],
      ['100.100.100.200', 32],
    ],
  },
  {
    what: 'a link-local address',
    ranges: [
      ['169.254.0.0', 16],
      ['fe80::', 10],
    ],
  },
  // Connecting to 0.0.0.0 or :: reaches the local host on Linux.
  {
    what: 'an unspecified address',
    ranges: [
      ['0.0.0.0', 8],
      ['::', 128],
    ],
  },
  {
    what: 'a multicast or reserved address',
    ranges: [
      ['224.0.0.0', 4],
      ['240.0.0.0', 4],
      ['ff00::', 8],
    ],
  },
];
const UNLESS_LISTED: readonly { what: string; ranges: readonly CidrRange[] }[] = [
  {
    what: 'a loopback address',
    ranges: [
      ['127.0.0.0', 8],
      ['::1', 128],
    ],
  },
  {
    what: 'a private address',
    ranges: [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['fc00::', 7],
    ],
  },
  { what: 'a carrier-grade NAT address', ranges: [['100.64.0.0', 10]] },
];
// Names that reach metadata services by name (they also resolve to refused addresses).
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog']);

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

function blockList(ranges: readonly CidrRange[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) {
    list.addSubnet(network, prefix, familyOf(network));
  }
  return list;
}

/** Parses ATTACH_ALLOWED_CIDRS: comma-separated CIDRs (a bare address means just that address). */
export function parseCidrs(text: string): CidrRange[] {
  const ranges: CidrRange[] = [];
  const problems: string[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [network, prefixText, extra] = item.split('/');
    const version = isIP(network);
    const max = version === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!version || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      problems.push(`"${item}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
    } else {
      ranges.push([network, prefix]);
    }
  }
  if (problems.length) {
    throw new Error(problems.join('; '));
  }
  return ranges;
}

/** Lowercase, no brackets around IPv6, no trailing dot: the form hosts are compared in. */
export function normalizeHost(host: string): string {
  return host
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
}

export class EgressPolicy {
  private readonly never = NEVER.map((c) => ({ what: c.what, list: blockList(c.ranges) }));
  private readonly unlessListed = UNLESS_LISTED.map((c) => ({ what: c.what, list: blockList(c.ranges) }));
  private readonly allowed: BlockList;

  constructor(allowedCidrs: readonly CidrRange[] = []) {
    this.allowed = blockList(allowedCidrs);
  }

  /** Why this IP address may not be dialled ("is a link-local address, …"), or undefined when it may. */
  refusal(address: string): string | undefined {
    const family = familyOf(address);
    // BlockList matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against IPv4 ranges too.
    const never = this.never.find((c) => c.list.check(address, family));
    if (never) {
      return `is ${never.what}, which a queued attach never connects to`;
    }
    const listed = this.unlessListed.find((c) => c.list.check(address, family));
    if (listed && !this.allowed.check(address, family)) {
      return `is ${listed.what} not listed in ATTACH_ALLOWED_CIDRS`;
    }
    return undefined;
  }

  /**
   * The addresses to connect to for `host`: all it resolves to, each checked (one refused address
   * refuses the host, so a name cannot mix a good address with a bad one). Resolver errors (a name
   * that does not resolve) pass through unchanged.
   */
  async resolve(host: string, resolver: HostResolver = systemResolver): Promise<ResolvedAddress[]> {
    const name = normalizeHost(host);
    if (METADATA_HOSTS.has(name)) {
      throw new EgressRefusedError(`The kubeconfig's server ${name} is a cloud metadata service, which a queued attach never connects to.`);
    }
    const version = isIP(name);
    const addresses = version ? [{ address: name, family: version as 4 | 6 }] : await resolver(name);
    if (!addresses.length) {
      throw Object.assign(new Error(`${name} has no addresses`), { code: 'ENOTFOUND' });
    }
    for (const { address } of addresses) {
      const why = this.refusal(address);
      if (why) {
        throw new EgressRefusedError(version ? `The kubeconfig's server address ${address} ${why}.` : `The kubeconfig's server ${name} resolves to ${address}, which ${why}.`);
      }
    }
    return addresses;
  }
}
