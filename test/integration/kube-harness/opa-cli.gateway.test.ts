// OpaCliGateway against the real opa built by tools/build.sh, and the compiled wasm evaluated by
// @open-policy-agent/opa-wasm as the agent will.
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { locateTools } from '../../../src/dev/kube-harness';
import { OpaCliError, OpaCliGateway, OpaErrorCode, type RegoModule } from '../../../src/infra/opa/opa-cli.gateway';

const REQUIRED_LABELS: RegoModule = {
  path: 'farpoint/required_labels.rego',
  source: `package farpoint.required_labels

deny contains msg if {
	some key in input.parameters.labels
	not input.review.object.metadata.labels[key]
	# %s only: opa-wasm implements sprintf with sprintf-js, which lacks Go verbs such as %q.
	msg := sprintf("%s %s is missing label \\"%s\\"", [input.review.object.kind, input.review.object.metadata.name, key])
}
`,
};

const review = (labels: Record<string, string>) => ({
  parameters: { labels: ['team', 'site'] },
  review: { object: { kind: 'Deployment', metadata: { name: 'storefront', labels } } },
});

const PASSING_TEST: RegoModule = {
  path: 'farpoint/required_labels_test.rego',
  source: `package farpoint.required_labels_test

import data.farpoint.required_labels

test_reports_each_missing_label if {
	required_labels.deny == {"Deployment storefront is missing label \\"site\\""} with input as {
		"parameters": {"labels": ["team", "site"]},
		"review": {"object": {"kind": "Deployment", "metadata": {"name": "storefront", "labels": {"team": "a"}}}},
	}
}
`,
};

const FAILING_TEST: RegoModule = {
  path: 'farpoint/wrong_expectation_test.rego',
  source: `package farpoint.wrong_expectation_test

import data.farpoint.required_labels

test_expects_no_violation_for_unlabelled_object if {
	count(required_labels.deny) == 0 with input as {
		"parameters": {"labels": ["team"]},
		"review": {"object": {"kind": "Pod", "metadata": {"name": "p", "labels": {}}}},
	}
}
`,
};

let opa: OpaCliGateway;

beforeAll(async () => {
  opa = new OpaCliGateway({ opaPath: (await locateTools()).opa });
}, 20 * 60_000);

async function rejection(p: Promise<unknown>): Promise<OpaCliError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpaCliError);
  return err as OpaCliError;
}

describe(OpaCliGateway.name, () => {
  it('reports the pinned opa version', async () => {
    expect(await opa.version()).toBe('Version: 1.22.3');
  });

  it('compiles Rego to wasm that opa-wasm loads and evaluates', async () => {
    const { wasm, bundle } = await opa.buildWasm([REQUIRED_LABELS], ['farpoint/required_labels/deny']);
    expect(wasm.subarray(0, 4).toString('latin1')).toBe('\0asm');
    expect(bundle.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const policy = await loadPolicy(wasm);
    expect(policy.evaluate(review({ team: 'payments' }))).toEqual([{ result: ['Deployment storefront is missing label "site"'] }]);
    expect(policy.evaluate(review({ team: 'payments', site: 'store-042' }))).toEqual([{ result: [] }]);
  });

  it('runs opa test and reports a failing test next to a passing one', async () => {
    const report = await opa.test([REQUIRED_LABELS, PASSING_TEST, FAILING_TEST]);
    expect(report.passed).toBe(false);
    expect(report.counts).toEqual({ pass: 1, fail: 1, error: 0, skip: 0 });
    const byName = Object.fromEntries(report.cases.map((c) => [c.name, c]));
    expect(byName.test_reports_each_missing_label).toMatchObject({
      outcome: 'pass',
      package: 'farpoint.required_labels_test',
      file: 'farpoint/required_labels_test.rego',
      row: 5,
    });
    expect(byName.test_expects_no_violation_for_unlabelled_object).toMatchObject({
      outcome: 'fail',
      package: 'farpoint.wrong_expectation_test',
      file: 'farpoint/wrong_expectation_test.rego',
      row: 5,
    });
  });

  it('passes a suite whose tests all pass', async () => {
    const report = await opa.test([REQUIRED_LABELS, PASSING_TEST]);
    expect(report.passed).toBe(true);
    expect(report.counts).toEqual({ pass: 1, fail: 0, error: 0, skip: 0 });
  });

  it('does not call a suite without tests passed', async () => {
    const report = await opa.test([REQUIRED_LABELS]);
    expect(report).toEqual({ passed: false, counts: { pass: 0, fail: 0, error: 0, skip: 0 }, cases: [] });
  });

  it('turns a Rego syntax error into REGO_INVALID with its location, for build and test', async () => {
    const broken: RegoModule = { path: 'broken.rego', source: 'package broken\n\nallow if {\n\tinput.user ==\n}\n' };
    for (const err of [await rejection(opa.buildWasm([broken], ['broken/allow'])), await rejection(opa.test([broken]))]) {
      expect(err.code).toBe(OpaErrorCode.REGO_INVALID);
      expect(err.problems).toEqual([expect.objectContaining({ code: 'rego_parse_error', file: 'broken.rego', row: 5 })]);
      expect(err.message).toMatch(/^Rego does not compile: broken\.rego:5: rego_parse_error: /);
    }
  });

  it('refuses an entrypoint that names no rule with BUILD_FAILED', async () => {
    const err = await rejection(opa.buildWasm([REQUIRED_LABELS], ['farpoint/required_labels/allow']));
    expect(err.code).toBe(OpaErrorCode.BUILD_FAILED);
    expect(err.message).toContain('farpoint/required_labels/allow');
  });

  it('rejects unusable input before running opa', async () => {
    const cases = [
      opa.buildWasm([REQUIRED_LABELS], []),
      opa.buildWasm([REQUIRED_LABELS], ['data.farpoint.deny']),
      opa.test([{ path: '../escape.rego', source: 'package x' }]),
      opa.test([{ path: '/etc/abs.rego', source: 'package x' }]),
      opa.test([{ path: 'notes.txt', source: 'package x' }]),
      opa.test([REQUIRED_LABELS, { ...REQUIRED_LABELS }]),
      opa.test([]),
    ];
    for (const c of cases) {
      expect((await rejection(c)).code).toBe(OpaErrorCode.INVALID_INPUT);
    }
  });
});
