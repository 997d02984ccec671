import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { findProjectRoot } from '../src/infra/database/migrator';
import { matchesConstraint, parseConstraint, parseConstraintTemplate, reviewForObject, type ConstraintForEvaluation, type ParsedConstraintTemplate } from '../src/policy-engine';

/** The recipes of policies/ as benchmark inputs, shared by the engine and the admission benchmarks. */
const ROOT = findProjectRoot();

export const readYaml = (path: string) => loadYaml(readFileSync(path, 'utf8')) as Record<string, unknown>;

export function fiveContainerPod(): Record<string, unknown> {
  const hardened = (name: string) => ({
    name,
    image: `harbor.example.com/shop/${name}:1.4.2`,
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'shop-7d9f', namespace: 'shop', labels: { app: 'shop', team: 'web', 'cost-center': '4711' } },
    spec: {
      securityContext: { runAsNonRoot: true },
      initContainers: [hardened('migrate')],
      containers: [
        hardened('web'),
        hardened('api'),
        { ...hardened('metrics'), securityContext: { runAsNonRoot: true, capabilities: { add: ['SYS_NICE'], drop: ['ALL'] }, seccompProfile: { type: 'Unconfined' } } },
        { name: 'debug', image: 'busybox:latest', securityContext: { privileged: false } },
      ],
    },
  };
}

/** The recipe's template and its suite's constraint (policies/<dir>). */
export function recipe(dir: string): { template: ParsedConstraintTemplate; constraint: ReturnType<typeof parseConstraint>; suite: Record<string, unknown> } | undefined {
  const base = join(ROOT, 'policies', dir);
  if (!existsSync(join(base, 'template.yaml')) || !existsSync(join(base, 'suite.yaml'))) {
    return undefined;
  }
  const suite = readYaml(join(base, 'suite.yaml'));
  const test = (suite.tests as { constraint: string; cases?: { name: string; object: string }[] }[])[0];
  return {
    template: parseConstraintTemplate(readFileSync(join(base, 'template.yaml'), 'utf8')),
    constraint: parseConstraint(readFileSync(join(base, test.constraint), 'utf8')),
    suite,
  };
}

export const constraintFor = (
  name: string,
  sha256: string,
  template: ParsedConstraintTemplate,
  c: { parameters: Record<string, unknown>; match?: ConstraintForEvaluation['match'] },
): ConstraintForEvaluation => ({
  name,
  kind: template.kind,
  bundleSha256: sha256,
  entrypoint: template.entrypoint,
  parameters: c.parameters,
  ...(c.match ? { match: c.match } : {}),
  enforcementAction: 'deny',
});

/**
 * 20 constraints as an admission sees them: every recipe with its suite's constraint and its match,
 * then more constraints of the recipes that match the 5-container pod, with their own parameters.
 * `load` compiles a template and answers its bundle's sha256.
 */
export async function twentyConstraints(load: (template: ParsedConstraintTemplate) => Promise<string>): Promise<ConstraintForEvaluation[]> {
  const withMatch: ConstraintForEvaluation[] = [];
  for (const dir of readdirSync(join(ROOT, 'policies')).sort()) {
    const r = recipe(dir);
    if (!r) {
      continue;
    }
    const sha = await load(r.template);
    withMatch.push(constraintFor(r.constraint.name, sha, r.template, r.constraint));
  }
  const podRecipes = withMatch.filter((c) => matchesConstraint(c.match, reviewForObject(fiveContainerPod())));
  for (let i = 0; withMatch.length < 20; i++) {
    const base = podRecipes[i % podRecipes.length];
    withMatch.push({ ...base, name: `${base.name}-${i}`, parameters: structuredClone(base.parameters) });
  }
  return withMatch;
}
