// GraphQL operations of the policy tests, against Farpoint as the attach tests run it (the API in
// this process, the worker as a real child process with the real opa).
import type { Farpoint } from '../../attach/support/farpoint';
import { waitFor } from '../../attach/support/farpoint';

export const VERSION_FIELDS = `id templateId version kind title description category severity rego libs parametersSchema regoVersion compileStatus compileAttempts lifecycle
  diagnostics { file line column code message } testResults { package name file line outcome error } testsPassed bundle { sha256 size entrypoint }`;

export interface Version {
  id: string;
  templateId: string;
  version: number;
  kind: string;
  title: string;
  description: string | null;
  category: string | null;
  severity: string;
  rego: string;
  libs: string[];
  parametersSchema: Record<string, unknown> | null;
  regoVersion: string;
  compileStatus: string;
  compileAttempts: number;
  lifecycle: string;
  diagnostics: { file: string; line: number | null; column: number | null; code: string; message: string }[];
  testResults: { package: string; name: string; file: string; line: number; outcome: string; error: string | null }[];
  testsPassed: boolean | null;
  bundle: { sha256: string; size: number; entrypoint: string } | null;
}

export async function importTemplate(fp: Farpoint, yaml: string, tests?: { name: string; source: string }[], token = fp.token) {
  const data = await fp.api.gqlOk<{ importConstraintTemplate: { template: { id: string; name: string; kind: string }; version: Version; created: boolean; warnings: string[] } }>(
    token,
    `mutation($yaml: String!, $tests: [RegoTestInput!]) { importConstraintTemplate(yaml: $yaml, tests: $tests) { template { id name kind } version { ${VERSION_FIELDS} } created warnings } }`,
    { yaml, tests },
  );
  return data.importConstraintTemplate;
}

export async function version(fp: Farpoint, id: string, token = fp.token): Promise<Version> {
  return (await fp.api.gqlOk<{ policyTemplateVersion: Version }>(token, `query($id: ID!) { policyTemplateVersion(id: $id) { ${VERSION_FIELDS} } }`, { id })).policyTemplateVersion;
}

/** Polls until the worker has finished compiling the version. */
export function compiled(fp: Farpoint, id: string, context?: () => string): Promise<Version> {
  return waitFor(
    `version ${id} to compile`,
    () => version(fp, id),
    (v) => v.compileStatus === 'COMPILED' || v.compileStatus === 'FAILED',
    { timeoutMs: 120_000, intervalMs: 100, context },
  );
}

export const EVALUATION_FIELDS = 'matched violations { message details } outcomes { enforcementAction allowed denialMessage warnings recorded } entrypoint bundleSha256';

export interface Evaluation {
  matched: boolean;
  violations: { message: string; details: unknown }[];
  outcomes: { enforcementAction: string; allowed: boolean; denialMessage: string | null; warnings: string[]; recorded: string[] }[];
  entrypoint: string;
  bundleSha256: string;
}

export const evaluate = (fp: Farpoint, input: Record<string, unknown>, token = fp.token) =>
  fp.api.gql<{ evaluatePolicy: Evaluation }>(token, `query($input: EvaluatePolicyInput!) { evaluatePolicy(input: $input) { ${EVALUATION_FIELDS} } }`, { input });

export const codes = (res: { errors?: { extensions?: { code?: string } }[] }) => (res.errors ?? []).map((e) => e.extensions?.code);
