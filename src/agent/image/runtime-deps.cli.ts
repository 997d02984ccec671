/**
 * Copies the agent's run-time packages out of a full node_modules (used by Dockerfile.agent):
 *   node runtime-deps.cli.js <repo dir with package-lock.json and node_modules> <output dir> <package>...
 * Each package directory is copied without its nested node_modules (nested packages the agent
 * needs are in the list themselves) and without files Node never loads at run time (type
 * declarations, TypeScript sources, source maps, Markdown): about half of client-node's size.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { type PackageLock, runtimePackageLocations } from './runtime-deps';

const [repo, out, ...roots] = process.argv.slice(2);
if (!repo || !out || roots.length === 0) {
  process.stderr.write('usage: runtime-deps.cli.js <repo dir> <output dir> <package>...\n');
  process.exit(2);
}
const NOT_RUNTIME = /\.(d\.[cm]?ts|[cm]?ts|map|md)$/;

const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as PackageLock;
const locations = runtimePackageLocations(lock, roots);
for (const location of locations) {
  const source = join(repo, location);
  cpSync(source, join(out, location), {
    recursive: true,
    filter: (path) => !relative(source, path).split(sep).includes('node_modules') && !NOT_RUNTIME.test(path),
  });
}
process.stdout.write(`copied ${locations.length} packages\n`);
