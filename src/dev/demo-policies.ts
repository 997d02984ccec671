import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The demo's policies, set up the way a platform team would through GraphQL: three built-in recipes
 * from policies/ imported as Gatekeeper Constraints (their suites' sample constraints) and assigned —
 * "no latest tag" as DENY to the factory-lines group (a `kubectl run --image=nginx:latest` there is
 * refused), "required labels" on Namespaces in DRYRUN to the whole organization (audits find the
 * namespaces without owner labels, and the impact shows what DENY would block), and "unique ingress
 * host" as DENY to the organization (referential: decided from the agent's own watch).
 * Waits for the worker to compile and publish the recipes first. Prints one line per assignment.
 *
 *   node dist/src/dev/demo-policies.js <api url> <admin token> <policies dir>
 */
const RECIPES = [
  { dir: 'no-latest-tag', scope: 'CLUSTER_GROUP', group: 'factory-lines', action: 'DENY' },
  { dir: 'required-labels', scope: 'ORGANIZATION', action: 'DRYRUN' },
  { dir: 'unique-ingress-host', scope: 'ORGANIZATION', action: 'DENY' },
] as const;

async function main(): Promise<void> {
  const [api, token, policiesDir] = process.argv.slice(2);
  if (!policiesDir) {
    throw new Error('usage: demo-policies <api url> <admin token> <policies dir>');
  }
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await fetch(`${api}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) {
      throw new Error(body.errors.map((e) => e.message).join('; '));
    }
    return body.data!;
  };

  // The worker syncs and compiles the recipes at its start; built-in versions publish when they compile.
  const kinds = new Map<string, string>();
  for (const r of RECIPES) {
    const yaml = readFileSync(join(policiesDir, r.dir, 'samples', 'constraint.yaml'), 'utf8');
    kinds.set(r.dir, /^kind:\s*(\S+)/m.exec(yaml)![1]);
  }
  for (let attempt = 0; ; attempt++) {
    const { policyTemplates } = await gql<{ policyTemplates: { edges: { node: { kind: string; publishedVersion: { id: string } | null } }[] } }>(
      '{ policyTemplates(first: 100, filter: { builtIn: true }) { edges { node { kind publishedVersion { id } } } } }',
    );
    const published = new Set(policyTemplates.edges.filter((e) => e.node.publishedVersion).map((e) => e.node.kind));
    if ([...kinds.values()].every((k) => published.has(k))) {
      break;
    }
    if (attempt >= 240) {
      throw new Error(`the recipes ${[...kinds.values()].filter((k) => !published.has(k)).join(', ')} were not published within 2 minutes; see the worker log`);
    }
    await sleep(500);
  }

  const { viewer } = await gql<{ viewer: { organization: { id: string } } }>('{ viewer { organization { id } } }');
  const { clusterGroups } = await gql<{ clusterGroups: { edges: { node: { id: string; name: string } }[] } }>('{ clusterGroups(first: 50) { edges { node { id name } } } }');
  const { policyAssignments } = await gql<{ policyAssignments: { edges: { node: { id: string; constraint: { name: string } } }[] } }>(
    '{ policyAssignments(first: 100) { edges { node { id constraint { name } } } } }',
  );
  for (const r of RECIPES) {
    const yaml = readFileSync(join(policiesDir, r.dir, 'samples', 'constraint.yaml'), 'utf8');
    const { importConstraint } = await gql<{ importConstraint: { constraint: { id: string; name: string } } }>(
      'mutation($yaml: String!) { importConstraint(yaml: $yaml) { constraint { id name } } }',
      { yaml },
    );
    const { constraint } = importConstraint;
    // Started again on the same database: assigned once.
    if (policyAssignments.edges.some((e) => e.node.constraint.name === constraint.name)) {
      console.log(`${constraint.name} already assigned`);
      continue;
    }
    const scopeId = r.scope === 'ORGANIZATION' ? viewer.organization.id : clusterGroups.edges.find((e) => e.node.name === ('group' in r ? r.group : ''))!.node.id;
    await gql('mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id } }', {
      in: { constraintId: constraint.id, scope: r.scope, scopeId, enforcementAction: r.action },
    });
    console.log(`${constraint.name} assigned to ${r.scope === 'ORGANIZATION' ? 'the organization' : `cluster group ${'group' in r ? r.group : ''}`} as ${r.action}`);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
