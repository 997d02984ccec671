// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- WebAssembly globals (no DOM lib here); followed by the agent's tsconfig too
/// <reference path="./webassembly.d.ts" />
import { createHash } from 'node:crypto';
import { parseRegoValue, RegoObject, RegoSet, regoString, regoToJson, type RegoValue } from './builtins/rego-value';
import { PolicyEngineError, PolicyEngineErrorCode } from './errors';
import { matchesConstraint } from './match';
import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult, Inventory, Violation } from './types';
import { WasmPolicy, type BundleInfo } from './wasm-host';

export interface PolicyEngineOptions {
  /** Compiled policies kept (least recently used evicted); default 256. */
  maxPolicies?: number;
  /** Memory limit of one policy instance; default 256 MiB. An evaluation that needs more fails. */
  maxMemoryBytes?: number;
}

export interface EvaluateOptions {
  /** Gatekeeper's data.inventory. Pass the same object again to reuse what each policy has loaded. */
  inventory?: Inventory;
  /** The object's Namespace (for namespaceSelector); not needed for cluster-scoped objects. */
  namespaceObject?: Record<string, unknown>;
}

interface LoadedBundle {
  module: WebAssembly.Module;
  instance: WasmPolicy;
}

const SHA256 = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();
const PARAMETERS_PREFIX = encoder.encode('{"parameters":');
const REVIEW_INFIX = encoder.encode(',"review":');
const SUFFIX = encoder.encode('}');
const EMPTY_OBJECT = encoder.encode('{}');

/** sha256 (lowercase hex) of wasm bytes: the identity of a compiled policy. */
export function bundleSha256(wasm: Uint8Array): string {
  return createHash('sha256').update(wasm).digest('hex');
}

/** What a compiled policy exposes and needs, without keeping it: for the compile job to refuse early. */
export async function inspectBundle(wasm: Uint8Array): Promise<BundleInfo> {
  const module = await compileModule(wasm);
  return new WasmPolicy(module).info();
}

async function compileModule(wasm: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(wasm);
  } catch (error) {
    throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_INVALID, `not a WebAssembly module: ${(error as Error).message}`);
  }
}

/**
 * Gatekeeper's evaluation for many constraints over one review: bundles are loaded once by sha256
 * (verified) and their instances kept; a decision applies each constraint's match, then evaluates
 * input = {"parameters": …, "review": …} with the review serialized once and each constraint's
 * parameters once (cached per parameters object), and reads violation[{"msg", "details"}].
 */
export class PolicyEngine {
  private readonly bundles = new Map<string, LoadedBundle>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly maxPolicies: number;
  private readonly maxMemoryBytes?: number;
  private readonly parameterBytes = new WeakMap<object, Uint8Array>();
  private inventoryCache: { inventory: Inventory; bytes: Uint8Array } | undefined;
  private readonly counters = { modulesCompiled: 0, instancesCreated: 0, dataLoads: 0, evaluations: 0 };

  constructor(options: PolicyEngineOptions = {}) {
    this.maxPolicies = options.maxPolicies ?? 256;
    this.maxMemoryBytes = options.maxMemoryBytes;
  }

  /** Verifies the sha256 of the wasm bytes (BUNDLE_HASH_MISMATCH) and compiles once; loading a loaded bundle is free. */
  async load(sha256: string, wasm: Uint8Array): Promise<void> {
    if (!SHA256.test(sha256)) {
      throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_HASH_MISMATCH, `"${sha256}" is not a lowercase hex SHA-256`);
    }
    if (this.has(sha256)) {
      return;
    }
    const pending = this.loading.get(sha256);
    if (pending) {
      return pending;
    }
    const work = (async () => {
      const actual = bundleSha256(wasm);
      if (actual !== sha256) {
        throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_HASH_MISMATCH, `the bundle's SHA-256 is ${actual}, not ${sha256}`);
      }
      const module = await compileModule(wasm);
      this.counters.modulesCompiled++;
      const instance = this.instantiate(module);
      const unsupported = instance.info().unsupportedBuiltins;
      if (unsupported.length > 0) {
        throw new PolicyEngineError(PolicyEngineErrorCode.BUILTIN_UNSUPPORTED, `the policy calls builtins the engine does not provide: ${unsupported.join(', ')}`, {
          builtins: unsupported,
        });
      }
      this.remember(sha256, { module, instance });
    })();
    this.loading.set(sha256, work);
    try {
      await work;
    } finally {
      this.loading.delete(sha256);
    }
  }

  /** What the engine did so far: compilations and instantiations happen per bundle, not per decision. */
  stats(): { loaded: number; modulesCompiled: number; instancesCreated: number; dataLoads: number; evaluations: number } {
    return { loaded: this.bundles.size, ...this.counters };
  }

  private instantiate(module: WebAssembly.Module): WasmPolicy {
    this.counters.instancesCreated++;
    return new WasmPolicy(module, { maxMemoryBytes: this.maxMemoryBytes });
  }

  has(sha256: string): boolean {
    return this.bundles.has(sha256);
  }

  /** Entry points and builtins of a loaded bundle. */
  info(sha256: string): BundleInfo {
    return this.get(sha256).instance.info();
  }

  /** Drops a bundle (e.g. when no constraint uses it any more). */
  unload(sha256: string): void {
    this.bundles.delete(sha256);
  }

  /**
   * One admission decision over many constraints, in the order given. Throws BUNDLE_NOT_LOADED for
   * a bundle not loaded, POLICY_EVALUATION_FAILED (details.constraint) when a policy aborts,
   * NAMESPACE_OBJECT_REQUIRED when a namespaceSelector needs the namespace and it is missing.
   */
  evaluate(review: AdmissionReviewRequest, constraints: readonly ConstraintForEvaluation[], options: EvaluateOptions = {}): ConstraintResult[] {
    let reviewBytes: Uint8Array | undefined;
    const results: ConstraintResult[] = [];
    for (const c of constraints) {
      const base = { constraint: c.name, kind: c.kind, enforcementAction: c.enforcementAction };
      if (!matchesConstraint(c.match, review, options.namespaceObject)) {
        results.push({ ...base, matched: false, violations: [] });
        continue;
      }
      const bundle = this.get(c.bundleSha256);
      reviewBytes ??= encoder.encode(JSON.stringify(review));
      const violations = this.run(bundle, c, reviewBytes, options.inventory);
      results.push({ ...base, matched: true, violations });
    }
    return results;
  }

  private run(bundle: LoadedBundle, c: ConstraintForEvaluation, reviewBytes: Uint8Array, inventory: Inventory | undefined): Violation[] {
    let instance = bundle.instance;
    if (instance.broken) {
      // The last evaluation trapped: its memory may be inconsistent, so start from a fresh instance.
      instance = bundle.instance = this.instantiate(bundle.module);
    }
    const entrypoint = instance.entrypoints[c.entrypoint];
    if (entrypoint === undefined) {
      throw new PolicyEngineError(
        PolicyEngineErrorCode.BUNDLE_INVALID,
        `constraint ${c.name}: the bundle has no entrypoint "${c.entrypoint}" (it has ${Object.keys(instance.entrypoints).join(', ') || 'none'})`,
        {
          constraint: c.name,
        },
      );
    }
    const dataKey = inventory ?? null;
    if (instance.dataKey !== dataKey) {
      instance.setData(this.dataBytes(inventory), dataKey);
      this.counters.dataLoads++;
    }
    this.counters.evaluations++;
    let text: string;
    try {
      text = instance.evaluate(entrypoint, [PARAMETERS_PREFIX, this.parametersBytes(c.parameters), REVIEW_INFIX, reviewBytes, SUFFIX]);
    } catch (error) {
      if (error instanceof PolicyEngineError) {
        throw new PolicyEngineError(error.code, `constraint ${c.name} (${c.kind}): ${error.message}`, { ...error.details, constraint: c.name });
      }
      throw error;
    }
    return readViolations(text, c.name);
  }

  private parametersBytes(parameters: Record<string, unknown> | undefined): Uint8Array {
    if (!parameters) {
      return EMPTY_OBJECT;
    }
    let bytes = this.parameterBytes.get(parameters);
    if (!bytes) {
      bytes = encoder.encode(JSON.stringify(parameters));
      this.parameterBytes.set(parameters, bytes);
    }
    return bytes;
  }

  private dataBytes(inventory: Inventory | undefined): Uint8Array {
    if (!inventory) {
      return encoder.encode('{"inventory":{}}');
    }
    if (this.inventoryCache?.inventory !== inventory) {
      this.inventoryCache = { inventory, bytes: encoder.encode(JSON.stringify({ inventory })) };
    }
    return this.inventoryCache.bytes;
  }

  private get(sha256: string): LoadedBundle {
    const bundle = this.bundles.get(sha256);
    if (!bundle) {
      throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_NOT_LOADED, `bundle ${sha256} is not loaded`);
    }
    // most recently used last
    this.bundles.delete(sha256);
    this.bundles.set(sha256, bundle);
    return bundle;
  }

  private remember(sha256: string, bundle: LoadedBundle): void {
    this.bundles.set(sha256, bundle);
    while (this.bundles.size > this.maxPolicies) {
      this.bundles.delete(this.bundles.keys().next().value!);
    }
  }
}

/** violation[{"msg": m, "details": d}] from a result set in value format: sorted by msg, then details. */
function readViolations(text: string, constraint: string): Violation[] {
  const fail = (problem: string): never => {
    throw new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, `constraint ${constraint}: ${problem}`, { constraint });
  };
  const resultSet = parseRegoValue(text);
  const rows = resultSet instanceof RegoSet ? resultSet.items : Array.isArray(resultSet) ? resultSet : fail('the policy returned no result set');
  if (rows.length === 0) {
    return [];
  }
  const row = rows[0];
  const result = row instanceof RegoObject ? row.entries.find(([k]) => k === 'result')?.[1] : undefined;
  if (result === undefined) {
    return [];
  }
  const items = result instanceof RegoSet ? result.items : Array.isArray(result) ? result : fail(`violation must be a set of objects, got ${regoString(result).slice(0, 100)}`);
  const violations = items.map((item): Violation => {
    const entries = item instanceof RegoObject ? item.entries : fail(`a violation is not an object: ${regoString(item).slice(0, 100)}`);
    let msg: RegoValue | undefined;
    let details: RegoValue | undefined;
    for (const [k, v] of entries) {
      if (k === 'msg') {
        msg = v;
      } else if (k === 'details') {
        details = v;
      }
    }
    if (typeof msg !== 'string') {
      fail(`a violation has no string msg: ${regoString(item).slice(0, 100)}`);
    }
    return details === undefined ? { msg: msg as string } : { msg: msg as string, details: regoToJson(details) };
  });
  if (violations.length > 1) {
    violations.sort(byMessageThenDetails);
  }
  return violations;
}

function byMessageThenDetails(a: Violation, b: Violation): number {
  if (a.msg !== b.msg) {
    return a.msg < b.msg ? -1 : 1;
  }
  const x = JSON.stringify(a.details ?? null);
  const y = JSON.stringify(b.details ?? null);
  return x < y ? -1 : x > y ? 1 : 0;
}
