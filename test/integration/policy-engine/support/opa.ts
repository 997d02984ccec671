import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleSha256, entrypointForPackage, parseConstraintTemplate, regoPackage, type ParsedConstraintTemplate } from '../../../../src/policy-engine';
import { createOpaCompiler } from '../../../../src/policy-engine/verify.cli';
import { locateTools } from '../../../../src/dev/kube-harness';

const run = promisify(execFile);

/** The real opa of the test tools (FARPOINT_TOOLS_BIN, else built by tools/build.sh). */
export async function opaPath(): Promise<string> {
  return (await locateTools()).opa;
}

export interface CompiledPolicy {
  sha256: string;
  wasm: Uint8Array;
  entrypoint: string;
  rego: string;
}

/** A ConstraintTemplate-shaped wrapper around bare Rego, for tests that start from a policy. */
export function templateFor(rego: string, kind = 'TestPolicy'): ParsedConstraintTemplate {
  const pkg = regoPackage(rego);
  if (!pkg) {
    throw new Error('rego without a package');
  }
  return parseConstraintTemplate({
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: kind.toLowerCase() },
    spec: { crd: { spec: { names: { kind } } }, targets: [{ target: 'admission.k8s.gatekeeper.sh', rego }] },
  });
}

export async function compileRego(rego: string): Promise<CompiledPolicy> {
  const { wasm, entrypoint } = await createOpaCompiler({ opaPath: await opaPath() })(templateFor(rego));
  return { sha256: bundleSha256(wasm), wasm, entrypoint, rego };
}

/** `opa eval` of data.<package>.violation with the input (and data) as Gatekeeper gives them; violations sorted like the engine's. */
export async function opaEvalViolations(rego: string, input: unknown, data: unknown = { inventory: {} }): Promise<{ msg: string; details?: unknown }[]> {
  const dir = await mkdtemp(join(tmpdir(), 'farpoint-opa-eval-'));
  try {
    await writeFile(join(dir, 'policy.rego'), rego);
    await writeFile(join(dir, 'input.json'), JSON.stringify(input));
    await writeFile(join(dir, 'data.json'), JSON.stringify(data));
    const query = `data.${entrypointForPackage(regoPackage(rego)!).replace(/\//g, '.')}`;
    const { stdout } = await run(
      await opaPath(),
      ['eval', '--v0-compatible', '--format', 'json', '-d', join(dir, 'policy.rego'), '-d', join(dir, 'data.json'), '-i', join(dir, 'input.json'), query],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const out = JSON.parse(stdout) as { result?: { expressions: { value: { msg: string; details?: unknown }[] }[] }[] };
    const value = out.result?.[0]?.expressions[0]?.value ?? [];
    return [...value].sort((a, b) => (a.msg < b.msg ? -1 : a.msg > b.msg ? 1 : JSON.stringify(a.details ?? null) < JSON.stringify(b.details ?? null) ? -1 : 1));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
