// evaluatePolicy cannot stall the API: a runaway policy is evaluated off the event loop and answered
// with POLICY_EVALUATION_TIMEOUT after POLICY_EVALUATION_TIMEOUT_MS, while other requests keep being
// served; the next evaluation works. Real API, Postgres, Redis and opa (the API compiles unsaved Rego).
import { locateTools } from '../../../src/dev/kube-harness';
import { startApi, type TestApi } from '../../support/api';
import { pod } from './support/templates';

jest.setTimeout(120_000);

let api: TestApi;
let editor: string;

beforeAll(async () => {
  api = await startApi({ OPA_PATH: (await locateTools()).opa, POLICY_EVALUATION_TIMEOUT_MS: '500' });
  const admin = await api.bootstrapOrg('evaluation-timeout');
  editor = await api.createToken(admin, 'EDITOR');
});
afterAll(() => api?.close());

const EVALUATE = 'query($input: EvaluatePolicyInput!) { evaluatePolicy(input: $input) { matched violations { message } } }';
// 36 million iterations that collect a one-element set: seconds of work in wasm, little memory.
const RUNAWAY = 'package k8srunaway\n\nviolation[{"msg": msg}] {\n  r := numbers.range(1, 6000)\n  n := count({k | r[_]; r[_]; k := 1})\n  msg := sprintf("%v", [n])\n}\n';
const QUICK = 'package k8squick\n\nviolation[{"msg": "named bad"}] {\n  input.review.object.metadata.name == "bad"\n}\n';

it('answers POLICY_EVALUATION_TIMEOUT for a runaway policy while other requests are answered meanwhile, and evaluates the next one', async () => {
  const order: string[] = [];
  const runaway = api.gql(editor, EVALUATE, { input: { policy: { unsaved: { rego: RUNAWAY } }, target: { object: pod('bad', {}) } } }).then((res) => {
    order.push('evaluation');
    return res;
  });
  // Served while the evaluation runs (the event loop is free): answered before the evaluation ends.
  const viewer = await api.gqlOk(editor, '{ viewer { role } }');
  order.push('viewer');
  expect(viewer).toEqual({ viewer: { role: 'EDITOR' } });

  const res = await runaway;
  expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['POLICY_EVALUATION_TIMEOUT']);
  expect(order).toEqual(['viewer', 'evaluation']);

  const next = await api.gql(editor, EVALUATE, { input: { policy: { unsaved: { rego: QUICK } }, target: { object: pod('bad', {}) } } });
  expect(next.errors).toBeUndefined();
  expect(next.data).toEqual({ evaluatePolicy: { matched: true, violations: [{ message: 'named bad' }] } });
});
