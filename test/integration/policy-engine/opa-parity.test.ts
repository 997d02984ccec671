import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { PolicyEngine, reviewForObject, type AdmissionReviewRequest, type Inventory } from '../../../src/policy-engine';
import { compileRego, opaEvalViolations, type CompiledPolicy } from './support/opa';

/**
 * The engine against the real `opa eval` on the same Rego, input and data: the same violations with
 * the same messages and details. Covers sprintf's Go formatting over every kind of Rego value and the
 * host builtins the engine supplies (opa build -t wasm leaves them to the host).
 */

const PRIVILEGED = `package farpoint.parity.privileged
violation[{"msg": msg, "details": {"container": c.name}}] {
  c := containers[_]
  c.securityContext.privileged
  msg := sprintf("Privileged container is not allowed: %v, securityContext: %v", [c.name, c.securityContext])
}
containers[c] { c := input.review.object.spec.containers[_] }
containers[c] { c := input.review.object.spec.initContainers[_] }`;

const REQUIRED_LABELS = `package farpoint.parity.labels
violation[{"msg": msg, "details": {"missing_labels": missing}}] {
  provided := {label | input.review.object.metadata.labels[label]}
  required := {label | label := input.parameters.labels[_].key}
  missing := required - provided
  count(missing) > 0
  msg := sprintf("you must provide labels: %v", [missing])
}
violation[{"msg": msg}] {
  value := input.review.object.metadata.labels[key]
  expected := input.parameters.labels[_]
  expected.key == key
  expected.allowedRegex != ""
  not regex.match(expected.allowedRegex, value)
  msg := sprintf("Label <%v: %v> does not satisfy allowed regex: %v", [key, value, expected.allowedRegex])
}`;

// Every case's format and arguments come from the parameters; the message is sprintf's output.
const FORMATS = `package farpoint.parity.formats
violation[{"msg": sprintf(c.format, c.args), "details": {"case": i}}] {
  c := input.parameters.cases[i]
}
violation[{"msg": sprintf("rego values: %v %v %v %v %v %s %d %v %q", [{"b", "a", 3}, set(), {"k": {1, 2}, 3: "x", "a": [true, null]}, [1.0, 2, "x"], 1.50, {"z": 1}, [], -0.0, ["q"]]), "details": "values"}] { true }
violation[{"msg": sprintf("strings: %v|%q|%+q|%x|% X|%#x|%.2s|%-6s|%6.3q", ["a\\u00a0b\\u0007c😀é", "tab\\there", "é", "héllo", "ab", "ab", "héllo", "ab", "abcdef"]), "details": "strings"}] { true }`;

const BUILTINS = `package farpoint.parity.builtins
violation[{"msg": msg, "details": {"name": name}}] {
  some name
  value := results[name]
  msg := sprintf("%s = %v", [name, value])
}
results["parse_bytes"] := [units.parse_bytes("1.5Ki"), units.parse_bytes("10GB"), units.parse_bytes("\\"3m\\""), units.parse_bytes("1.9999")]
results["parse_bytes_bad"] := units.parse_bytes("1 k")
results["parse"] := [units.parse("100m"), units.parse("1.5Ki"), units.parse("1e-3K"), units.parse("2M"), units.parse("0.3333333333333m"), units.parse("1mi")]
results["durations"] := [time.parse_duration_ns("1h30m"), time.parse_duration_ns("1.5s"), time.parse_duration_ns("-2us")]
results["rfc3339"] := [time.parse_rfc3339_ns("2020-01-02T03:04:05.123456789+02:00"), time.parse_rfc3339_ns("1960-01-01T00:00:00Z")]
results["calendar"] := [time.date(1700000000000000000), time.clock(1700000000000000000), time.weekday(1700000000000000000)]
results["semver"] := [semver.compare("1.0.0-alpha", "1.0.0"), semver.compare("1.0.0-alpha.1", "1.0.0-alpha.beta"), semver.compare("2.0.0", "1.9.9"), semver.is_valid("1.0.0+b.1"), semver.is_valid("1.0")]
results["urlquery"] := [urlquery.encode("a b&c=d/é~"), urlquery.decode("a+b%2F")]
results["regex"] := [regex.split("a*", "baaac"), regex.split(",", ""), regex.split("x", "axbx"), regex.find_n("a.", "a1a2a3", 2), regex.find_n("", "ab", -1), regex.replace("a1b22", "[0-9]+", "<$0>")]
results["strings"] := [strings.count("cheese", "e"), strings.count("five", ""), strings.any_prefix_match(["a", "b"], {"x", "b"}), strings.any_suffix_match("abc", ["zz", "bc"]), strings.any_prefix_match("abc", "x")]
results["hashes"] := [crypto.sha256("a"), crypto.md5("a"), crypto.sha1("a"), hex.encode("é")]
results["misc"] := [numbers.range_step(1, 10, 3), net.cidr_is_valid("10.0.0.0/8"), net.cidr_is_valid("10.0.0.0/33")]
results["from_input"] := [units.parse_bytes(input.review.object.spec.containers[0].resources.limits.memory), units.parse(input.review.object.spec.containers[0].resources.limits.cpu)]`;

const REFERENTIAL = `package farpoint.parity.uniquehost
violation[{"msg": msg}] {
  input.review.kind.kind == "Ingress"
  host := input.review.object.spec.rules[_].host
  other := data.inventory.namespace[ns][_]["Ingress"][name]
  other.spec.rules[_].host == host
  not same(other)
  msg := sprintf("ingress host conflicts with an existing ingress <%v/%v>: %q", [ns, name, host])
}
same(other) {
  other.metadata.namespace == input.review.object.metadata.namespace
  other.metadata.name == input.review.object.metadata.name
}`;

const WHO = `package farpoint.parity.who
violation[{"msg": msg}] {
  input.review.operation == "UPDATE"
  not startswith(input.review.userInfo.username, "system:")
  msg := sprintf("%s may not update %s/%s (groups %v, dry run %v)", [input.review.userInfo.username, input.review.namespace, input.review.name, input.review.userInfo.groups, input.review.dryRun])
}`;

const FORMAT_CASES: { format: string; args: unknown[] }[] = [
  { format: '%d|%s|%q|%x|%X|%5d|%-5s|%05d|%.2f|%v|%v|%v', args: [42, 'str', 'q"é', 'hi', 255, 7, 'ab', 3, 3.14159, 1e6, 0.00001, 123456.5] },
  { format: '%s|%d|%v|%v|%v', args: [5, 'x', true, null, 'plain'] },
  { format: '%v %v', args: [1] },
  { format: '%v', args: [1, 2, 'three'] },
  { format: '%e|%g|%.3g|%8.3f|%+d|%x|%o|%b|%c|%t|%T|%T|%T|%%', args: [1234.5678, 0.000012345, 1234.5678, 3.14159, 5, -255, 8, 5, 65, true, 1, 's', [1]] },
  { format: '%v|%d|%v|%s|%x', args: [12345678901234567890, 12345678901234567890, 1.0, 1.5, 12345678901234567890] },
  { format: '%q|%v|%s|%v', args: [['a'], { b: 'x\ny' }, { a: 1 }, { nested: { list: [1, 'two', null, false] } }] },
  { format: '%05s|%.1f|%.0f|%.0f|%5.1q|%U|%#U|%c|%q|%#o|%#x|%#b|%O', args: ['ab', 0.25, 2.5, 3.5, 'héllo', 65, 65, 233, 65, 8, 255, 5, 8] },
  { format: '%[2]v %[1]v|%*d|%v|%v|%v|%.3s|%-05d|%6.2v|%6.2v', args: ['a', 'b', 5, 42, 100000.5, 1e21, 0.1, 'héllo', 7, 3.14159, 'abc'] },
  { format: '%x|%X|%e|%g|%G|%E|%.3e|%10.3g|%-10.2f|%+.1f|% d|% d|%+d', args: [3.5, 'Hi', 0, 100000000.5, 1e-7, 12.5, 0.0005, 123456.5, 2.5, -0.05, 5, -5, -5] },
  { format: '%d|%v|%o|%b|%c|%.5d|%08d|%-8d|%8s|%08.3f|%+.2e', args: [-1234567890123, -42, 8, -5, 128512, -42, -42, -42, 'é', -3.14159, 12345.678] },
  { format: '%!|%z|%', args: [1] },
  { format: '%v|%v|%v|%v|%.10f|%.20g', args: [0.000001, 1e-7, 12345678.9, 1e100, 1 / 3, 0.1] },
  { format: '%t|%v %v', args: [true] },
  { format: '%#v|%#v|%+v|%x|%.0d|%.3x', args: ['q', 5, 5, '', 0, 'abcdef'] },
  { format: 'no verbs at all', args: [] },
];

interface Case {
  name: string;
  rego: string;
  reviews: AdmissionReviewRequest[];
  parameters: Record<string, unknown>;
  inventory?: Inventory;
}

const podWith = (containers: Record<string, unknown>[], initContainers: Record<string, unknown>[] = [], labels: Record<string, string> = {}) =>
  reviewForObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels }, spec: { containers, initContainers } });

const ingress = (namespace: string, name: string, host: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace },
  spec: { rules: [{ host }] },
});

const CASES: Case[] = [
  {
    name: 'privileged containers (%v of an object)',
    rego: PRIVILEGED,
    parameters: {},
    reviews: [
      podWith(
        [
          { name: 'app', image: 'nginx', securityContext: { privileged: true, runAsUser: 0 } },
          { name: 'side', securityContext: { privileged: false } },
        ],
        [{ name: 'init', securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } } }],
      ),
      podWith([{ name: 'app', image: 'nginx' }]),
    ],
  },
  {
    name: 'required labels (%v of a set, details with a set)',
    rego: REQUIRED_LABELS,
    parameters: { labels: [{ key: 'owner', allowedRegex: '^[a-z]+\\.agilebank\\.demo$' }, { key: 'team' }, { key: 'cost-center' }] },
    reviews: [podWith([], [], { owner: 'Bad Owner' }), podWith([], [], { owner: 'me.agilebank.demo', team: 'a', 'cost-center': '1' }), podWith([], [], {})],
  },
  { name: 'sprintf formats (Go fmt over JSON values)', rego: FORMATS, parameters: { cases: FORMAT_CASES }, reviews: [podWith([])] },
  {
    name: 'host builtins',
    rego: BUILTINS,
    parameters: {},
    reviews: [podWith([{ name: 'a', resources: { limits: { memory: '512Mi', cpu: '250m' } } }]), podWith([{ name: 'a', resources: { limits: { memory: 'lots', cpu: '2' } } }])],
  },
  {
    name: 'referential (data.inventory)',
    rego: REFERENTIAL,
    parameters: {},
    inventory: {
      namespace: {
        shop: { 'networking.k8s.io/v1': { Ingress: { front: ingress('shop', 'front', 'shop.example.com') } } },
        blog: { 'networking.k8s.io/v1': { Ingress: { www: ingress('blog', 'www', 'blog.example.com') } } },
      },
    },
    reviews: [
      reviewForObject(ingress('other', 'copy', 'shop.example.com')),
      reviewForObject(ingress('shop', 'front', 'shop.example.com')),
      reviewForObject(ingress('other', 'fresh', 'new.example.com')),
    ],
  },
  {
    name: 'the rest of the review (operation, userInfo, dryRun)',
    rego: WHO,
    parameters: {},
    reviews: [
      { ...podWith([]), operation: 'UPDATE', userInfo: { username: 'alice', groups: ['dev', 'ops'] }, dryRun: true },
      { ...podWith([]), operation: 'UPDATE', userInfo: { username: 'system:serviceaccount:kube-system:x', groups: [] } },
      { ...podWith([]), operation: 'CREATE', userInfo: { username: 'alice' } },
    ],
  },
];

describe('policy engine parity with opa eval', () => {
  const engine = new PolicyEngine();
  const compiled = new Map<string, CompiledPolicy>();

  beforeAll(async () => {
    for (const c of CASES) {
      const policy = await compileRego(c.rego);
      await engine.load(policy.sha256, policy.wasm);
      compiled.set(c.name, policy);
    }
  }, 180_000);

  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s: same violations, messages and details',
    async (_name, c) => {
      const policy = compiled.get(c.name)!;
      for (const review of c.reviews) {
        const [result] = engine.evaluate(
          review,
          [{ name: 'parity', kind: 'Parity', bundleSha256: policy.sha256, entrypoint: policy.entrypoint, parameters: c.parameters, enforcementAction: 'deny' }],
          {
            inventory: c.inventory,
          },
        );
        const expected = await opaEvalViolations(c.rego, { review, parameters: c.parameters }, { inventory: c.inventory ?? {} });
        expect(result.violations).toEqual(expected);
      }
    },
    60_000,
  );

  it('the cases exercise what they claim (violations found, sprintf of objects is not [object Object])', () => {
    const policy = compiled.get(CASES[0].name)!;
    const [result] = engine.evaluate(CASES[0].reviews[0], [
      { name: 'p', kind: 'P', bundleSha256: policy.sha256, entrypoint: policy.entrypoint, parameters: {}, enforcementAction: 'deny' },
    ]);
    expect(result.violations.map((v) => v.msg)).toEqual([
      'Privileged container is not allowed: app, securityContext: {"privileged": true, "runAsUser": 0}',
      'Privileged container is not allowed: init, securityContext: {"capabilities": {"add": ["NET_ADMIN"]}, "privileged": true}',
    ]);
  });

  it('is why the engine hosts the wasm itself: the plain SDK prints [object Object] for the same policy', async () => {
    const policy = compiled.get(CASES[0].name)!;
    const sdk = await loadPolicy(policy.wasm);
    sdk.setData({ inventory: {} });
    const [set] = sdk.evaluate({ review: CASES[0].reviews[0], parameters: {} }, policy.entrypoint) as { result: { msg: string }[] }[];
    expect(set.result.map((v) => v.msg)).toContain('Privileged container is not allowed: app, securityContext: [object Object]');
  });
});
