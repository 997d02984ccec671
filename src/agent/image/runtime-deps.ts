/**
 * The packages the agent needs at run time, read from package-lock.json. One package.json serves
 * the API, the workers and the agent; the agent image copies only the dependency closure of its own
 * imports (@kubernetes/client-node, zod) out of a full `npm ci --omit=dev`, so it stays small and
 * pins exactly the versions the lock file pins.
 */

export interface LockPackage {
  version?: string;
  dev?: boolean;
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** npm lockfileVersion 2 or 3: "packages" keyed by install location ("" is the root). */
export interface PackageLock {
  lockfileVersion: number;
  packages: Record<string, LockPackage>;
}

/** Where Node's resolution finds `name` when required from the package at `from`. */
export function resolveLocation(lock: PackageLock, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[candidate]) {
      return candidate;
    }
    if (!base) {
      return undefined;
    }
    // Up one level: "node_modules/a/node_modules/b" → "node_modules/a"; "node_modules/a" → root.
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/** Install locations of `roots` and everything they depend on, sorted. Throws when a needed package is missing. */
export function runtimePackageLocations(lock: PackageLock, roots: string[]): string[] {
  if (lock.lockfileVersion < 2) {
    throw new Error('package-lock.json must be lockfileVersion 2 or 3');
  }
  const found = new Set<string>();
  const visit = (location: string) => {
    if (found.has(location)) {
      return;
    }
    found.add(location);
    const pkg = lock.packages[location];
    const optionalPeer = (name: string) => pkg.peerDependenciesMeta?.[name]?.optional === true;
    const peers = Object.keys(pkg.peerDependencies ?? {});
    for (const name of [...Object.keys(pkg.dependencies ?? {}), ...peers.filter((p) => !optionalPeer(p))]) {
      const dep = resolveLocation(lock, location, name);
      if (!dep) {
        throw new Error(`${location} needs ${name}, which package-lock.json does not install`);
      }
      visit(dep);
    }
    for (const name of [...Object.keys(pkg.optionalDependencies ?? {}), ...peers.filter(optionalPeer)]) {
      const dep = resolveLocation(lock, location, name);
      if (dep) {
        visit(dep);
      }
    }
  };
  for (const root of roots) {
    const location = resolveLocation(lock, '', root);
    if (!location) {
      throw new Error(`package-lock.json does not install ${root}`);
    }
    visit(location);
  }
  return [...found].sort();
}
