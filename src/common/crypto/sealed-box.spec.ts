import { SealedBox, SealedBoxError } from './sealed-box';

describe(SealedBox.name, () => {
  const box = new SealedBox('test-key');
  const OP = '3f1c2b8e-6a7d-4e0f-9b1a-2c3d4e5f6a7b';

  it('round-trips in format v2 and never contains the plaintext', () => {
    const sealed = box.seal('apiVersion: v1\nkind: Config\n', OP);
    expect(sealed.split('.')).toHaveLength(4);
    expect(sealed.startsWith('v2.')).toBe(true);
    expect(sealed).not.toContain('Config');
    expect(box.open(sealed, OP)).toBe('apiVersion: v1\nkind: Config\n');
  });

  it('refuses a tampered or foreign value', () => {
    const sealed = box.seal('secret', OP);
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => box.open(parts.join('.'), OP)).toThrow(SealedBoxError);
    expect(() => new SealedBox('another-key').open(sealed, OP)).toThrow(SealedBoxError);
  });

  it('is bound to its context: a value sealed for one operation does not open for another', () => {
    const sealed = box.seal('kubeconfig of operation A', OP);
    expect(() => box.open(sealed, '00000000-0000-4000-8000-000000000000')).toThrow(SealedBoxError);
    expect(() => box.open(sealed, OP.toUpperCase())).toThrow(SealedBoxError);
    expect(box.open(sealed, OP)).toBe('kubeconfig of operation A');
  });

  it('refuses a truncated authentication tag, which GCM would otherwise check against fewer bytes', () => {
    const parts = box.seal('secret', OP).split('.');
    const tag = Buffer.from(parts[2], 'base64url');
    expect(tag).toHaveLength(16);
    for (const length of [4, 8, 12, 15]) {
      const short = [parts[0], parts[1], tag.subarray(0, length).toString('base64url'), parts[3]].join('.');
      expect(() => box.open(short, OP)).toThrow(SealedBoxError);
    }
  });

  it('refuses v1 values (unbound to any operation) and anything that is not a sealed value', () => {
    const parts = box.seal('secret', OP).split('.');
    expect(() => box.open(['v1', ...parts.slice(1)].join('.'), OP)).toThrow('Not a v2 sealed value.');
    for (const junk of ['', 'v2', 'v2.a.b', 'v2.a.b.c.d', 'plain text']) {
      expect(() => box.open(junk, OP)).toThrow(SealedBoxError);
    }
  });

  it('needs a context to seal or open', () => {
    expect(() => box.seal('secret', '')).toThrow('needs a context');
  });
});
