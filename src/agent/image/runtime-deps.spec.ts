import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PackageLock, resolveLocation, runtimePackageLocations } from './runtime-deps';

const lock: PackageLock = {
  lockfileVersion: 3,
  packages: {
    '': { dependencies: { app: '1', 'dev-tool': '1' } },
    'node_modules/app': { version: '1.0.0', dependencies: { shared: '^2', left: '1' }, optionalDependencies: { 'fsevents-like': '1' } },
    'node_modules/app/node_modules/shared': { version: '2.0.0' },
    'node_modules/shared': { version: '1.0.0' },
    'node_modules/left': {
      version: '1.0.0',
      dependencies: { shared: '^1' },
      peerDependencies: { peer: '1', 'optional-peer': '1' },
      peerDependenciesMeta: { 'optional-peer': { optional: true } },
    },
    'node_modules/peer': { version: '1.0.0' },
    'node_modules/dev-tool': { version: '1.0.0', dev: true, dependencies: { heavy: '1' } },
    'node_modules/heavy': { version: '1.0.0', dev: true },
  },
};

describe(resolveLocation.name, () => {
  it('prefers a nested copy and walks up like Node', () => {
    expect(resolveLocation(lock, 'node_modules/app', 'shared')).toBe('node_modules/app/node_modules/shared');
    expect(resolveLocation(lock, 'node_modules/left', 'shared')).toBe('node_modules/shared');
    expect(resolveLocation(lock, 'node_modules/app/node_modules/shared', 'left')).toBe('node_modules/left');
    expect(resolveLocation(lock, '', 'missing')).toBeUndefined();
  });
});

describe(runtimePackageLocations.name, () => {
  it('collects the closure of the roots with the right copies, skipping absent optional packages and peers', () => {
    expect(runtimePackageLocations(lock, ['app'])).toEqual([
      'node_modules/app',
      'node_modules/app/node_modules/shared',
      'node_modules/left',
      'node_modules/peer',
      'node_modules/shared',
    ]);
  });

  it('fails when a required dependency is not installed', () => {
    const broken = { ...lock, packages: { ...lock.packages, 'node_modules/peer': undefined as never } };
    delete broken.packages['node_modules/peer'];
    expect(() => runtimePackageLocations(broken, ['app'])).toThrow('node_modules/left needs peer');
  });

  it('keeps the real agent closure free of the API stack', () => {
    const real = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package-lock.json'), 'utf8')) as PackageLock;
    const locations = runtimePackageLocations(real, ['@kubernetes/client-node', 'zod']);
    expect(locations).toContain('node_modules/zod');
    expect(locations).toContain('node_modules/@kubernetes/client-node');
    for (const heavy of ['@nestjs/core', '@prisma/client', 'bullmq', 'ioredis', 'graphql', 'typescript', 'pg']) {
      expect(locations).not.toContain(`node_modules/${heavy}`);
    }
  });
});
