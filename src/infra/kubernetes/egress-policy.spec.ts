import { EgressPolicy, EgressRefusedError, type HostResolver, parseCidrs } from './egress-policy';

const resolvesTo =
  (...addresses: string[]): HostResolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe(EgressPolicy.name, () => {
  const strict = new EgressPolicy();
  const onPrem = new EgressPolicy(parseCidrs('127.0.0.0/8, 10.20.0.0/16,fd12::/16, 100.64.0.0/10'));
  const everything = new EgressPolicy(parseCidrs('0.0.0.0/0,::/0,169.254.0.0/16,fe80::/10'));

  it.each([
    ['169.254.169.254', 'a cloud metadata address'],
    ['100.100.100.200', 'a cloud metadata address'],
    ['fd00:ec2::254', 'a cloud metadata address'],
    ['169.254.10.1', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['::ffff:169.254.169.254', 'a cloud metadata address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['224.0.0.1', 'a multicast or reserved address'],
    ['255.255.255.255', 'a multicast or reserved address'],
  ])('never allows %s (%s), whatever ATTACH_ALLOWED_CIDRS lists', (address, what) => {
    expect(strict.refusal(address)).toBe(`is ${what}, which a queued attach never connects to`);
    expect(everything.refusal(address)).toBe(`is ${what}, which a queued attach never connects to`);
  });

  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['10.0.0.1', 'a private address'],
    ['172.16.5.4', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['fc00::1', 'a private address'],
    ['fd12:3456::1', 'a private address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
  ])('refuses %s (%s) unless listed', (address, what) => {
    expect(strict.refusal(address)).toBe(`is ${what} not listed in ATTACH_ALLOWED_CIDRS`);
  });

  it('allows listed loopback and private ranges, and public addresses without listing', () => {
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '10.20.3.4', 'fd12::9', '100.64.0.1']) {
      expect(onPrem.refusal(address)).toBeUndefined();
    }
    expect(onPrem.refusal('10.21.0.1')).toBe('is a private address not listed in ATTACH_ALLOWED_CIDRS');
    expect(onPrem.refusal('::1')).toBe('is a loopback address not listed in ATTACH_ALLOWED_CIDRS');
    for (const address of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888']) {
      expect(strict.refusal(address)).toBeUndefined();
    }
  });

  it('checks every address a name resolves to: one refused address refuses the name', async () => {
    await expect(strict.resolve('edge.example.com', resolvesTo('203.0.113.7', '2001:db8::7'))).resolves.toEqual([
      { address: '203.0.113.7', family: 4 },
      { address: '2001:db8::7', family: 6 },
    ]);
    await expect(strict.resolve('rebind.example.com', resolvesTo('203.0.113.7', '169.254.169.254'))).rejects.toThrow(
      new EgressRefusedError("The kubeconfig's server rebind.example.com resolves to 169.254.169.254, which is a cloud metadata address, which a queued attach never connects to."),
    );
    await expect(strict.resolve('LOCALHOST.', resolvesTo('127.0.0.1'))).rejects.toThrow(
      "The kubeconfig's server localhost resolves to 127.0.0.1, which is a loopback address not listed in ATTACH_ALLOWED_CIDRS.",
    );
  });

  it('refuses metadata host names by name, and IP literals without asking DNS', async () => {
    const resolver = jest.fn(resolvesTo('203.0.113.7'));
    await expect(strict.resolve('metadata.google.internal', resolver)).rejects.toThrow(EgressRefusedError);
    await expect(strict.resolve('[fe80::1]', resolver)).rejects.toThrow("The kubeconfig's server address fe80::1 is a link-local address");
    await expect(onPrem.resolve('127.0.0.1', resolver)).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(resolver).not.toHaveBeenCalled();
  });

  it('passes resolver errors through (a name that does not resolve is not an egress refusal)', async () => {
    const error = Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' });
    await expect(strict.resolve('nope.invalid', () => Promise.reject(error))).rejects.toBe(error);
    await expect(strict.resolve('empty.example.com', resolvesTo())).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe(parseCidrs.name, () => {
  it('reads comma-separated CIDRs and bare addresses', () => {
    expect(parseCidrs('')).toEqual([]);
    expect(parseCidrs(' 127.0.0.0/8 ,10.0.0.0/8,,fd00::/8,192.168.1.10')).toEqual([
      ['127.0.0.0', 8],
      ['10.0.0.0', 8],
      ['fd00::', 8],
      ['192.168.1.10', 32],
    ]);
  });

  it('names every entry that is not a CIDR', () => {
    expect(() => parseCidrs('10.0.0.0/33,example.com,10.0.0.0/8/1,::/129,10.0.0.0/x')).toThrow(
      '"10.0.0.0/33" is not a CIDR such as 10.0.0.0/8 or fd00::/8; "example.com" is not a CIDR such as 10.0.0.0/8 or fd00::/8; "10.0.0.0/8/1" is not a CIDR such as 10.0.0.0/8 or fd00::/8; "::/129" is not a CIDR such as 10.0.0.0/8 or fd00::/8; "10.0.0.0/x" is not a CIDR such as 10.0.0.0/8 or fd00::/8',
    );
  });
});
