// Policies end to end with the real opa, Postgres, Redis and worker: Gatekeeper ConstraintTemplates of
// several shapes imported through GraphQL, compiled by the worker (a child process) into WebAssembly,
// evaluated by the engine through evaluatePolicy; Constraints imported against them; every refusal of
// bad input; and the built-in recipes of policies/ visible to every organization.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { locateTools } from '../../../src/dev/kube-harness';
import { type Farpoint, startFarpoint, waitFor } from '../attach/support/farpoint';
import { killAllChildren, type Proc } from '../attach/support/processes';
import { codes, compiled, evaluate, importTemplate, version } from './support/policy';
import { ingress, NO_LATEST, pod, REQUIRED_LABELS, template, UNIQUE_INGRESS_HOST } from './support/templates';

const run = promisify(execFile);
let fp: Farpoint;
let worker: Proc;
let opa: string;
const logs = () => `--- worker\n${worker?.tail(40)}`;

beforeAll(async () => {
  opa = (await locateTools()).opa;
  fp = await startFarpoint({ OPA_PATH: opa });
  worker = await fp.startWorker({ OPA_PATH: opa }, 'policy worker');
}, 300_000);

afterAll(async () => {
  await killAllChildren();
  await fp?.close();
}, 60_000);

/** What `opa eval` itself answers for the policy's violation rule on the same input (the reference). */
async function opaEval(rego: string, input: unknown, pkg: string, v0 = true): Promise<unknown[]> {
  const dir = await mkdtemp(join(tmpdir(), 'farpoint-opa-eval-'));
  try {
    await writeFile(join(dir, 'policy.rego'), rego);
    await writeFile(join(dir, 'input.json'), JSON.stringify(input));
    const { stdout } = await run(opa, [
      'eval',
      ...(v0 ? ['--v0-compatible'] : []),
      '--format',
      'json',
      '-d',
      join(dir, 'policy.rego'),
      '-i',
      join(dir, 'input.json'),
      `data.${pkg}.violation`,
    ]);
    return (JSON.parse(stdout) as { result: { expressions: { value: unknown[] }[] }[] }).result[0].expressions[0].value;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('templates of several shapes, compiled by the worker and evaluated through GraphQL', () => {
  it('v1beta1 with rego (Rego v0, schema): compiles, a missing label is a violation with the message opa eval gives, a labelled pod is not', async () => {
    const imported = await importTemplate(fp, REQUIRED_LABELS);
    expect(imported).toMatchObject({ created: true, warnings: [], template: { name: 'k8srequiredlabels', kind: 'K8sRequiredLabels' } });
    expect(imported.version).toMatchObject({
      version: 1,
      regoVersion: 'V0',
      title: 'Required Labels',
      description: 'Requires the listed labels on every object.',
      lifecycle: 'DRAFT',
    });
    const v = await compiled(fp, imported.version.id, logs);
    expect(v).toMatchObject({ compileStatus: 'COMPILED', diagnostics: [], testsPassed: true, bundle: { entrypoint: 'k8srequiredlabels/violation' } });
    expect(v.bundle!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const row = await fp.api.prisma.policyBundle.findUniqueOrThrow({ where: { sha256: v.bundle!.sha256 } });
    expect(row.size).toBe(v.bundle!.size);

    const parameters = { labels: ['team', 'cost-centre'] };
    const bad = pod('storefront', { team: 'web' });
    const res = await evaluate(fp, { policy: { templateVersionId: v.id }, target: { object: bad }, parameters });
    expect(res.errors).toBeUndefined();
    const reference = (await opaEval(
      v.rego,
      { review: { object: bad, kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE' }, parameters },
      'k8srequiredlabels',
    )) as { msg: string; details: unknown }[];
    expect(reference).toHaveLength(1);
    expect(res.data!.evaluatePolicy).toMatchObject({ matched: true, violations: [{ message: reference[0].msg, details: reference[0].details }] });
    expect(reference[0].msg).toBe('you must provide labels: {"cost-centre"}');
    const [deny, warn, dryrun] = res.data!.evaluatePolicy.outcomes;
    expect(deny).toMatchObject({ enforcementAction: 'DENY', allowed: false });
    expect(deny.denialMessage).toContain('[k8srequiredlabels] you must provide labels: {"cost-centre"}');
    expect(warn).toMatchObject({ enforcementAction: 'WARN', allowed: true, warnings: ['[warn] [k8srequiredlabels] you must provide labels: {"cost-centre"}'] });
    expect(dryrun).toMatchObject({ enforcementAction: 'DRYRUN', allowed: true, warnings: [], recorded: ['[k8srequiredlabels] you must provide labels: {"cost-centre"}'] });

    const good = await evaluate(fp, { policy: { templateVersionId: v.id }, target: { object: pod('storefront', { team: 'web', 'cost-centre': '42' }) }, parameters });
    expect(good.data!.evaluatePolicy).toMatchObject({ matched: true, violations: [] });
    expect(good.data!.evaluatePolicy.outcomes.map((o) => o.allowed)).toEqual([true, true, true]);

    // A match that leaves the object out: not matched, nothing evaluated.
    const elsewhere = await evaluate(fp, { policy: { templateVersionId: v.id }, target: { object: bad }, parameters, match: { namespaces: ['kube-*'] } });
    expect(elsewhere.data!.evaluatePolicy).toMatchObject({ matched: false, violations: [] });
  }, 180_000);

  it('v1 with code (CEL beside Rego v1, with a lib): imported with a warning, compiled without --v0-compatible, evaluated over a full AdmissionReview', async () => {
    const imported = await importTemplate(fp, NO_LATEST);
    expect(imported.warnings).toEqual([expect.stringContaining('K8sNativeValidation (CEL)')]);
    expect(imported.version).toMatchObject({ regoVersion: 'V1', libs: [expect.stringContaining('package lib.images')] });
    const v = await compiled(fp, imported.version.id, logs);
    expect(v).toMatchObject({ compileStatus: 'COMPILED', bundle: { entrypoint: 'k8snolatest/violation' } });
    const object = pod('cart', {}, ['nginx:1.27', 'redis']);
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', name: 'cart', namespace: 'shop', object, userInfo: { username: 'alice' } },
    };
    const res = await evaluate(fp, { policy: { templateVersionId: v.id }, target: { admissionReview: review } });
    expect(res.data!.evaluatePolicy.violations.map((x) => x.message)).toEqual(['container c1 uses the latest tag (redis)']);
    // The bare request is accepted too.
    const bare = await evaluate(fp, { policy: { templateVersionId: v.id }, target: { admissionReview: review.request } });
    expect(bare.data!.evaluatePolicy.violations).toHaveLength(1);

    // Export round-trips: importing the export again is the same version (nothing new).
    const yaml = (await fp.api.gqlOk<{ exportConstraintTemplate: string }>(fp.token, 'query($id: ID!) { exportConstraintTemplate(versionId: $id) }', { id: v.id }))
      .exportConstraintTemplate;
    expect(yaml).toContain('kind: K8sNoLatest');
    const again = await importTemplate(fp, yaml);
    expect({ created: again.created, id: again.version.id, version: again.version.version }).toEqual({ created: false, id: v.id, version: 1 });
  }, 180_000);

  it('referential (data.inventory): a host another Ingress has is a violation, a new host is not', async () => {
    const imported = await importTemplate(fp, UNIQUE_INGRESS_HOST);
    const v = await compiled(fp, imported.version.id, logs);
    expect(v.compileStatus).toBe('COMPILED');
    const inventory = { namespace: { shop: { 'networking.k8s.io/v1': { Ingress: { existing: ingress('existing', 'shop', 'shop.example.com') } } } } };
    const clash = await evaluate(fp, { policy: { templateVersionId: v.id }, target: { object: ingress('new', 'other', 'shop.example.com') }, inventory });
    expect(clash.data!.evaluatePolicy.violations.map((x) => x.message)).toEqual(['ingress host conflicts with an existing ingress <shop.example.com>']);
    const fresh = await evaluate(fp, { policy: { templateVersionId: v.id }, target: { object: ingress('new', 'other', 'cart.example.com') }, inventory });
    expect(fresh.data!.evaluatePolicy.violations).toEqual([]);
  }, 180_000);

  it("the author's Rego tests run at compile time, result per test; a failing test blocks publishing, passing ones allow it", async () => {
    const rego = 'package k8sdemotests\n\nviolation[{"msg": "no"}] {\n  input.review.object.metadata.name == "bad"\n}\n';
    const passing = {
      name: 'demo_test.rego',
      source: 'package k8sdemotests\n\ntest_bad {\n  count(violation) == 1 with input as {"review": {"object": {"metadata": {"name": "bad"}}}}\n}\n',
    };
    const failing = {
      name: 'wrong_test.rego',
      source: 'package k8sdemotests\n\ntest_wrong {\n  count(violation) == 1 with input as {"review": {"object": {"metadata": {"name": "good"}}}}\n}\n',
    };
    const first = await importTemplate(fp, template('K8sDemoTests', rego), [passing, failing]);
    const v1 = await compiled(fp, first.version.id, logs);
    expect(v1).toMatchObject({ compileStatus: 'COMPILED', testsPassed: false });
    expect(v1.testResults.map((t) => [t.name, t.outcome, t.file])).toEqual([
      ['test_bad', 'PASS', 'demo_test.rego'],
      ['test_wrong', 'FAIL', 'wrong_test.rego'],
    ]);
    const refused = await fp.api.gql(fp.token, 'mutation($id: ID!) { publishPolicyTemplateVersion(id: $id) { lifecycle } }', { id: v1.id });
    expect({ codes: codes(refused), failing: refused.errors?.[0].extensions?.failing }).toEqual({ codes: ['CONFLICT'], failing: ['test_wrong'] });
    expect((await version(fp, v1.id)).lifecycle).toBe('DRAFT');

    const second = await importTemplate(fp, template('K8sDemoTests', rego), [passing]);
    expect({ created: second.created, version: second.version.version }).toEqual({ created: false, version: 2 });
    const v2 = await compiled(fp, second.version.id, logs);
    expect(v2.testsPassed).toBe(true);
    // Same Rego, same WebAssembly: one bundle row for both versions.
    expect(v2.bundle!.sha256).toBe(v1.bundle!.sha256);
    expect(await fp.api.prisma.policyBundle.count({ where: { sha256: v2.bundle!.sha256 } })).toBe(1);
    const published = await fp.api.gqlOk(fp.token, 'mutation($id: ID!) { publishPolicyTemplateVersion(id: $id) { lifecycle publishedAt } }', { id: v2.id });
    expect(published.publishPolicyTemplateVersion.lifecycle).toBe('PUBLISHED');
  }, 180_000);

  it('streams a version finishing its compile on policyTemplateVersionCompiled(templateId)', async () => {
    const created = await fp.api.gqlOk<{ createPolicyTemplate: { id: string } }>(fp.token, 'mutation { createPolicyTemplate(input: { kind: "K8sStreamed" }) { id } }');
    const templateId = created.createPolicyTemplate.id;
    const client = createClient({
      url: `${fp.api.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${fp.token}` },
      retryAttempts: 0,
    });
    const received: { versionId: string; compileStatus: string; testsPassed: boolean | null; bundleSha256: string | null }[] = [];
    const gateway = fp.api.app.get<unknown, { listeners: Map<string, Set<unknown>> }>((await import('../../../src/infra/redis/pubsub.gateway')).PubSubGateway);
    const held = () => [...gateway.listeners.keys()].some((k) => k.endsWith(`policy-compiled:${templateId}`));
    const stop = client.subscribe<{ policyTemplateVersionCompiled: (typeof received)[number] }>(
      {
        query:
          'subscription($id: ID!) { policyTemplateVersionCompiled(templateId: $id) { templateId versionId version compileStatus testsPassed bundleSha256 occurredAt diagnostics { line } } }',
        variables: { id: templateId },
      },
      { next: (v) => v.data && received.push(v.data.policyTemplateVersionCompiled), error: () => undefined, complete: () => undefined },
    );
    try {
      await waitFor(
        'the subscription to be held',
        async () => held(),
        (h) => h,
        { intervalMs: 20 },
      );
      const created2 = await fp.api.gqlOk(
        fp.token,
        'mutation($id: ID!, $in: CreatePolicyTemplateVersionInput!) { createPolicyTemplateVersion(templateId: $id, input: $in) { id compileStatus } }',
        {
          id: templateId,
          in: { title: 'Streamed', rego: 'package k8sstreamed\n\nviolation contains {"msg": "x"} if input.review.object.kind == "Secret"\n', regoVersion: 'V1' },
        },
      );
      expect(created2.createPolicyTemplateVersion.compileStatus).toBe('QUEUED');
      const versionId = created2.createPolicyTemplateVersion.id;
      await waitFor(
        'the compiled message',
        async () => received,
        (r) => r.length > 0,
        { timeoutMs: 120_000, context: logs },
      );
      expect(received).toEqual([expect.objectContaining({ versionId, compileStatus: 'COMPILED', testsPassed: true, bundleSha256: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    } finally {
      stop();
      await client.dispose();
    }
  }, 180_000);
});

describe('constraints', () => {
  let labelsVersion: string;
  beforeAll(async () => {
    const t = await fp.api.gqlOk(fp.token, 'query { policyTemplates(filter: { kind: "K8sRequiredLabels" }) { edges { node { latestVersion { id } } } } }');
    labelsVersion = t.policyTemplates.edges[0].node.latestVersion.id;
  });

  it('importConstraint: kind names the template, parameters are validated, match and action kept; export round-trips; re-import updates', async () => {
    const yaml = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: shops-need-team
spec:
  enforcementAction: warn
  match:
    kinds:
      - apiGroups: [""]
        kinds: ["Pod"]
    namespaces: ["shop", "shop-*"]
  parameters:
    labels: ["team"]
`;
    const res = await fp.api.gqlOk(
      fp.token,
      'mutation($y: String!) { importConstraint(yaml: $y) { created constraint { id name kind enforcementAction parameters match templateVersion { id } } } }',
      { y: yaml },
    );
    const c = res.importConstraint.constraint;
    expect(res.importConstraint.created).toBe(true);
    expect(c).toMatchObject({
      name: 'shops-need-team',
      kind: 'K8sRequiredLabels',
      enforcementAction: 'WARN',
      parameters: { labels: ['team'] },
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaces: ['shop', 'shop-*'] },
      templateVersion: { id: labelsVersion },
    });
    const exported = (await fp.api.gqlOk(fp.token, 'query($id: ID!) { exportConstraint(id: $id) }', { id: c.id })).exportConstraint as string;
    const again = await fp.api.gqlOk(fp.token, 'mutation($y: String!) { importConstraint(yaml: $y) { created constraint { id enforcementAction parameters match } } }', {
      y: exported,
    });
    expect(again.importConstraint).toEqual({ created: false, constraint: { id: c.id, enforcementAction: 'WARN', parameters: c.parameters, match: c.match } });
  });

  const refusals: [string, string, string, RegExp][] = [
    ['malformed YAML', 'kind: [unclosed', 'BAD_USER_INPUT', /YAML|yaml/],
    [
      'an unknown template kind',
      'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sNoSuchThing\nmetadata: {name: nope}\n',
      'BAD_USER_INPUT',
      /No template of kind K8sNoSuchThing/,
    ],
    [
      'parameters that fail the schema',
      'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {name: bad-params}\nspec: {parameters: {labels: "team"}}\n',
      'BAD_USER_INPUT',
      /parameters\.labels must be array/,
    ],
    [
      'an enforcement action Gatekeeper does not have',
      'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {name: bad-action}\nspec: {enforcementAction: block}\n',
      'BAD_USER_INPUT',
      /enforcementAction/,
    ],
  ];
  it.each(refusals)('importConstraint refuses %s, writing nothing', async (_what, yaml, code, message) => {
    const before = await fp.api.prisma.constraint.count();
    const res = await fp.api.gql(fp.token, 'mutation($y: String!) { importConstraint(yaml: $y) { created } }', { y: yaml });
    expect(codes(res)).toEqual([code]);
    expect(res.errors![0].message).toMatch(message);
    expect(await fp.api.prisma.constraint.count()).toBe(before);
  });

  it('createConstraint refuses parameters that fail the schema, naming each problem; a deprecated version cannot be newly used', async () => {
    const bad = await fp.api.gql(fp.token, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id } }', {
      in: { name: 'bad', templateVersionId: labelsVersion, parameters: { labels: [1] } },
    });
    expect({ codes: codes(bad), field: bad.errors![0].extensions!.field, problems: bad.errors![0].extensions!.problems }).toEqual({
      codes: ['BAD_USER_INPUT'],
      field: 'input.parameters',
      problems: ['parameters.labels.0 must be string'],
    });
    const own = await importTemplate(fp, template('K8sSoonOld', 'package k8ssoonold\n\nviolation[{"msg": "x"}] { false }\n'));
    await compiled(fp, own.version.id, logs);
    const kept = await fp.api.gqlOk(fp.token, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id } }', {
      in: { name: 'kept', templateVersionId: own.version.id },
    });
    const dep = await fp.api.gqlOk(fp.token, 'mutation($id: ID!) { deprecatePolicyTemplateVersion(id: $id) { lifecycle } }', { id: own.version.id });
    expect(dep.deprecatePolicyTemplateVersion.lifecycle).toBe('DEPRECATED');
    const refused = await fp.api.gql(fp.token, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id } }', {
      in: { name: 'newly', templateVersionId: own.version.id },
    });
    expect({ codes: codes(refused), message: refused.errors![0].message }).toEqual({ codes: ['BAD_USER_INPUT'], message: expect.stringContaining('DEPRECATED') });
    const viaImport = await fp.api.gql(fp.token, 'mutation($y: String!) { importConstraint(yaml: $y) { created } }', {
      y: 'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sSoonOld\nmetadata: {name: via-import}\n',
    });
    expect(codes(viaImport)).toEqual(['BAD_USER_INPUT']);
    // The constraint that already used it keeps it and can still be changed in other ways.
    const changed = await fp.api.gqlOk(
      fp.token,
      'mutation($id: ID!) { updateConstraint(id: $id, input: { enforcementAction: DRYRUN }) { enforcementAction templateVersion { lifecycle } } }',
      { id: kept.createConstraint.id },
    );
    expect(changed.updateConstraint).toEqual({ enforcementAction: 'DRYRUN', templateVersion: { lifecycle: 'DEPRECATED' } });
    expect(await fp.api.prisma.constraint.count({ where: { name: { in: ['bad', 'newly', 'via-import'] } } })).toBe(0);
  }, 120_000);
});

describe('bad input: a clear error, a stable code, nothing half-written', () => {
  const rowCounts = async () => ({ templates: await fp.api.prisma.policyTemplate.count(), versions: await fp.api.prisma.policyTemplateVersion.count() });

  const importRefusals: [string, string, RegExp, string][] = [
    ['malformed YAML', 'apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: [', /YAML|yaml/, ''],
    [
      'a kind that does not match the name',
      REQUIRED_LABELS.replace('name: k8srequiredlabels', 'name: k8srequiredlabel'),
      /must be the lowercase of spec.crd.spec.names.kind/,
      'metadata.name',
    ],
    ['a CEL-only template', NO_LATEST.replace(/        - engine: Rego[\s\S]*$/, ''), /Rego/, ''],
    ['oversized Rego', template('K8sHuge', `package k8shuge\n\nviolation[{"msg": "x"}] { false }\n# ${'x'.repeat(300 * 1024)}\n`), /at most \d+ are accepted/, ''],
  ];
  it.each(importRefusals)('importConstraintTemplate refuses %s', async (_what, yaml, message, path) => {
    const before = await rowCounts();
    const res = await fp.api.gql(fp.token, 'mutation($y: String!) { importConstraintTemplate(yaml: $y) { created } }', { y: yaml });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toMatch(message);
    expect(res.errors![0].extensions!.field).toBe('yaml');
    if (path) {
      expect(res.errors![0].extensions!.path).toBe(path);
    }
    expect(await rowCounts()).toEqual(before);
  });

  it('Rego that does not parse: FAILED with POLICY_COMPILE_FAILED and the line and column opa reports; it cannot be published', async () => {
    const imported = await importTemplate(fp, template('K8sBroken', 'package k8sbroken\n\nviolation[{"msg": msg}] {\n  msg := "x" +\n}\n'));
    const v = await compiled(fp, imported.version.id, logs);
    expect(v).toMatchObject({ compileStatus: 'FAILED', bundle: null, testsPassed: null });
    expect(v.diagnostics).toEqual([expect.objectContaining({ file: 'template.rego', line: 5, column: 1, code: 'rego_parse_error' })]);
    const event = await fp.api.prisma.event.findFirstOrThrow({ where: { objectId: v.id, type: 'PolicyTemplateVersionCompileFailed' } });
    expect(event.data).toMatchObject({ code: 'POLICY_COMPILE_FAILED' });
    const publish = await fp.api.gql(fp.token, 'mutation($id: ID!) { publishPolicyTemplateVersion(id: $id) { id } }', { id: v.id });
    expect({ codes: codes(publish), status: publish.errors![0].extensions!.compileStatus }).toEqual({ codes: ['CONFLICT'], status: 'FAILED' });
  }, 120_000);

  it('a missing violation rule: FAILED naming it', async () => {
    const imported = await importTemplate(fp, template('K8sNoViolation', 'package k8snoviolation\n\ndeny[msg] {\n  msg := "wrong rule name"\n}\n'));
    const v = await compiled(fp, imported.version.id, logs);
    expect(v.compileStatus).toBe('FAILED');
    expect(v.diagnostics).toEqual([
      expect.objectContaining({ code: 'missing_violation_rule', line: 1, message: expect.stringContaining('package k8snoviolation has no violation rule') }),
    ]);
  }, 120_000);

  it('a builtin WebAssembly lacks and the engine does not provide (http.send): FAILED naming it where it is used', async () => {
    const imported = await importTemplate(
      fp,
      template(
        'K8sCallsOut',
        'package k8scallsout\n\nviolation[{"msg": msg}] {\n  r := http.send({"method": "get", "url": "https://example.com"})\n  msg := sprintf("%v", [r.status_code])\n}\n',
      ),
    );
    const v = await compiled(fp, imported.version.id, logs);
    expect(v.compileStatus).toBe('FAILED');
    expect(v.diagnostics).toEqual([
      expect.objectContaining({ code: 'unsupported_builtin', file: 'template.rego', line: 4, column: 8, message: expect.stringContaining('http.send') }),
    ]);
  }, 120_000);

  it('publishing a version that is still QUEUED is refused', async () => {
    const t = await fp.api.gqlOk(fp.token, 'mutation { createPolicyTemplate(input: { kind: "K8sNotYet" }) { id } }');
    // Straight into the database, so no worker compiles it.
    const row = await fp.api.prisma.policyTemplateVersion.create({
      data: { templateId: t.createPolicyTemplate.id, version: 1, kind: 'K8sNotYet', title: 'x', rego: 'package k8snotyet', libs: [], sourceHash: 'x', createdBy: 'test' },
    });
    const res = await fp.api.gql(fp.token, 'mutation($id: ID!) { publishPolicyTemplateVersion(id: $id) { id } }', { id: row.id });
    expect({ codes: codes(res), status: res.errors![0].extensions!.compileStatus }).toEqual({ codes: ['CONFLICT'], status: 'QUEUED' });
    expect((await fp.api.prisma.policyTemplateVersion.findUniqueOrThrow({ where: { id: row.id } })).lifecycle).toBe('DRAFT');
  });

  it('evaluatePolicy: an object that is not a Kubernetes object, unsaved Rego that does not compile, or is too large', async () => {
    const rego = 'package k8sunsaved\n\nviolation[{"msg": "named bad"}] {\n  input.review.object.metadata.name == "bad"\n}\n';
    const ok = await evaluate(fp, { policy: { unsaved: { rego } }, target: { object: pod('bad', {}) } });
    expect(ok.data!.evaluatePolicy.violations.map((v) => v.message)).toEqual(['named bad']);
    const notK8s = await evaluate(fp, { policy: { unsaved: { rego } }, target: { object: { hello: 'world' } } });
    expect({ codes: codes(notK8s), field: notK8s.errors![0].extensions!.field }).toEqual({ codes: ['BAD_USER_INPUT'], field: 'input.target.object' });
    const broken = await evaluate(fp, { policy: { unsaved: { rego: 'package k8sunsaved\n\nviolation[{"msg": msg}] {\n  msg := \n}\n' } }, target: { object: pod('bad', {}) } });
    expect(codes(broken)).toEqual(['POLICY_COMPILE_FAILED']);
    expect(broken.errors![0].extensions!.diagnostics).toEqual([expect.objectContaining({ file: 'template.rego', line: 5, column: 1 })]);
    const huge = await evaluate(fp, { policy: { unsaved: { rego: `${rego}# ${'x'.repeat(300 * 1024)}\n` } }, target: { object: pod('bad', {}) } });
    expect({ codes: codes(huge), field: huge.errors![0].extensions!.field }).toEqual({ codes: ['BAD_USER_INPUT'], field: 'input.policy.unsaved.rego' });
  }, 60_000);

  it("another organization's template and version ids behave as ones that do not exist", async () => {
    const other = await fp.api.bootstrapOrgWithId('policy-other-org');
    const mine = await fp.api.gqlOk(fp.token, 'query { policyTemplates(filter: { builtIn: false }, first: 1) { edges { node { id latestVersion { id } } } } }');
    const { id, latestVersion } = mine.policyTemplates.edges[0].node;
    for (const [query, vars] of [
      ['query($id: ID!) { policyTemplate(id: $id) { id } }', { id }],
      ['query($id: ID!) { policyTemplateVersion(id: $id) { id } }', { id: latestVersion.id }],
      ['mutation($id: ID!) { publishPolicyTemplateVersion(id: $id) { id } }', { id: latestVersion.id }],
      [
        'mutation($id: ID!, $in: CreatePolicyTemplateVersionInput!) { createPolicyTemplateVersion(templateId: $id, input: $in) { id } }',
        { id, in: { title: 't', rego: 'package x' } },
      ],
    ] as const) {
      expect(codes(await fp.api.gql(other.token, query, vars))).toEqual(['NOT_FOUND']);
    }
    const evaluation = await evaluate(fp, { policy: { templateVersionId: latestVersion.id }, target: { object: pod('x', {}) } }, await fp.api.createToken(other.token, 'EDITOR'));
    expect(codes(evaluation)).toEqual(['NOT_FOUND']);
  });
});

describe('built-in recipes (policies/)', () => {
  it('every recipe is a read-only template of every organization, PUBLISHED once compiled with its tests passing', async () => {
    const dir = join(__dirname, '..', '..', '..', 'policies');
    const recipes = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'template.yaml'))).map((e) => e.name);
    expect(recipes.length).toBeGreaterThan(0);
    const list = async (token: string) =>
      (
        await fp.api.gqlOk(
          token,
          'query { policyTemplates(filter: { builtIn: true }, first: 100) { totalCount edges { node { id name builtIn latestVersion { id compileStatus lifecycle testsPassed diagnostics { message } testResults { name outcome error } } } } } }',
        )
      ).policyTemplates;
    const builtIns = await waitFor(
      'every recipe to compile',
      () => list(fp.token),
      (l) =>
        l.totalCount === recipes.length &&
        l.edges.every((e: { node: { latestVersion: { compileStatus: string } } }) => ['COMPILED', 'FAILED'].includes(e.node.latestVersion.compileStatus)),
      { timeoutMs: 240_000, intervalMs: 500, context: logs },
    );
    for (const { node } of builtIns.edges) {
      expect({ recipe: node.name, builtIn: node.builtIn, ...node.latestVersion, id: undefined }).toEqual({
        recipe: node.name,
        builtIn: true,
        id: undefined,
        compileStatus: 'COMPILED',
        lifecycle: 'PUBLISHED',
        testsPassed: true,
        diagnostics: [],
        testResults: expect.any(Array),
      });
    }
    // Another organization sees the same recipes, and cannot change them.
    const other = await fp.api.bootstrapOrgWithId('recipes-other-org');
    expect((await list(other.token)).edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual(builtIns.edges.map((e: { node: { id: string } }) => e.node.id).sort());
    const first = builtIns.edges[0].node;
    const deprecate = await fp.api.gql(other.token, 'mutation($id: ID!) { deprecatePolicyTemplateVersion(id: $id) { id } }', { id: first.latestVersion.id });
    expect(codes(deprecate)).toEqual(['FORBIDDEN']);
    // A constraint of any organization can use a recipe.
    const c = await fp.api
      .gqlOk(other.token, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { kind templateVersion { id } } }', {
        in: { name: 'uses-recipe', templateVersionId: first.latestVersion.id, parameters: {} },
      })
      .catch((e: Error) => e);
    if (c instanceof Error) {
      expect(c.message).toMatch(/parameters/);
    } // a recipe whose schema requires parameters
    else {
      expect(c.createConstraint.templateVersion.id).toBe(first.latestVersion.id);
    }
    // A second sync (a worker restart) adds nothing.
    const before = await fp.api.prisma.policyTemplateVersion.count({ where: { template: { organizationId: null } } });
    await worker.stop('SIGTERM');
    worker = await fp.startWorker({ OPA_PATH: opa }, 'policy worker 2');
    expect(await fp.api.prisma.policyTemplateVersion.count({ where: { template: { organizationId: null } } })).toBe(before);
  }, 300_000);
});
