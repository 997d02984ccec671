// Copies policies/lib/workloads.rego into every template.yaml that embeds it (the
// `spec.targets[0].code[0].source.libs` block, which comes last in those files). Gatekeeper needs
// each template self-contained; CI (test/integration/policies/recipes.test.ts) fails when a copy differs.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const lib = readFileSync(join(root, 'lib', 'workloads.rego'), 'utf8');
const marker = '            libs:\n              - |\n';
const indented = lib
  .split('\n')
  .map((line) => (line ? `                ${line}` : ''))
  .join('\n');
for (const recipe of readdirSync(root)) {
  const file = join(root, recipe, 'template.yaml');
  if (!existsSync(file)) {
    continue;
  }
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(marker);
  if (at < 0) {
    continue;
  }
  const next = text.slice(0, at + marker.length) + indented;
  if (next !== text) {
    writeFileSync(file, next);
    console.log(`updated ${recipe}/template.yaml`);
  }
}
