import { SealedBox } from './sealed-box';

describe(SealedBox.name, () => {
  const box = new SealedBox('test-key');

  it('round-trips and never contains the plaintext', () => {
    const sealed = box.seal('apiVersion: v1\nkind: Config\n');
    expect(sealed).not.toContain('Config');
    expect(box.open(sealed)).toBe('apiVersion: v1\nkind: Config\n');
  });

  it('refuses a tampered or foreign value', () => {
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => new SealedBox('another-key').open(sealed)).toThrow();
  });
});
