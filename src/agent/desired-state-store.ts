import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { SyncKind } from '../policy-engine/sync-requirements';
import { ENFORCEMENT_ACTIONS, type ConstraintForEvaluation } from '../policy-engine/types';

/**
 * The desired state the agent enforces, on disk under `<stateDir>/desired-state/`: `state.json`
 * (generation, constraints as the engine evaluates them, the bundles they use by sha256) and
 * `bundles/<sha256>.wasm` beside it. The desired-state loop writes it from the API; the admission loop reads it. Every bundle's hash is verified when the state is loaded, so a
 * tampered or truncated file is refused as a whole and the state running before keeps running.
 */
export interface DesiredState {
  generation: number;
  constraints: DesiredStateConstraint[];
  /** The webhook's failure policy and timeout (the cluster group's); absent in files written before they existed. */
  admission?: { failurePolicy: 'Ignore' | 'Fail'; timeoutSeconds: number };
  /** sha256 → wasm bytes, verified. */
  bundles: Map<string, Uint8Array>;
  /** What the referential templates among the constraints read from data.inventory (the agent watches these). */
  inventoryKinds: SyncKind[];
}

/** A constraint as the engine evaluates it, and the assignment it is enforced for. */
export type DesiredStateConstraint = ConstraintForEvaluation & { assignmentId?: string };

export const DesiredStateErrorCode = {
  DESIRED_STATE_MISSING: 'DESIRED_STATE_MISSING',
  DESIRED_STATE_INVALID: 'DESIRED_STATE_INVALID',
  BUNDLE_MISSING: 'BUNDLE_MISSING',
  BUNDLE_HASH_MISMATCH: 'BUNDLE_HASH_MISMATCH',
} as const;
export type DesiredStateErrorCode = (typeof DesiredStateErrorCode)[keyof typeof DesiredStateErrorCode];

export class DesiredStateError extends Error {
  constructor(
    readonly code: DesiredStateErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'DesiredStateError';
  }
}

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const selector = z.object({ matchLabels: z.record(z.string(), z.string()).optional(), matchExpressions: z.array(z.any()).optional() });
const constraintSchema = z.object({
  /** The policy assignment the constraint is enforced for (audit and decisions name it). */
  assignmentId: z.uuid().optional(),
  name: z.string().min(1),
  kind: z.string().min(1),
  bundleSha256: SHA256,
  entrypoint: z.string().min(1),
  parameters: z.record(z.string(), z.unknown()),
  enforcementAction: z.enum(ENFORCEMENT_ACTIONS as [string, ...string[]]),
  match: z
    .object({
      kinds: z.array(z.object({ apiGroups: z.array(z.string()).optional(), kinds: z.array(z.string()).optional() })).optional(),
      namespaces: z.array(z.string()).optional(),
      excludedNamespaces: z.array(z.string()).optional(),
      labelSelector: selector.optional(),
      namespaceSelector: selector.optional(),
      scope: z.enum(['*', 'Cluster', 'Namespaced']).optional(),
      name: z.string().optional(),
    })
    .optional(),
});
const syncKindSchema = z.object({
  group: z.string().regex(/^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$/),
  version: z.string().regex(/^v[0-9a-z]{1,30}$/),
  kind: z.string().regex(/^[A-Z][A-Za-z0-9]{0,62}$/),
});
const fileSchema = z.object({
  generation: z.number().int().nonnegative(),
  constraints: z.array(constraintSchema),
  bundles: z.array(SHA256),
  admission: z.object({ failurePolicy: z.enum(['Ignore', 'Fail']), timeoutSeconds: z.number().int().min(1).max(30) }).optional(),
  inventoryKinds: z.array(syncKindSchema).max(64).optional(),
});
export type DesiredStateFile = z.infer<typeof fileSchema>;

export const desiredStateDir = (stateDir: string) => join(stateDir, 'desired-state');
const statePath = (stateDir: string) => join(desiredStateDir(stateDir), 'state.json');
const bundlePath = (stateDir: string, sha256: string) => join(desiredStateDir(stateDir), 'bundles', `${sha256}.wasm`);

/** Reads and verifies the state; throws DesiredStateError with a stable code, never answers half a state. */
export async function loadDesiredState(stateDir: string): Promise<DesiredState> {
  let text: string;
  try {
    text = await readFile(statePath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DesiredStateError(DesiredStateErrorCode.DESIRED_STATE_MISSING, `no desired state at ${statePath(stateDir)}`);
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DesiredStateError(DesiredStateErrorCode.DESIRED_STATE_INVALID, `state.json is not JSON: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DesiredStateError(DesiredStateErrorCode.DESIRED_STATE_INVALID, `state.json at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const file = parsed.data;
  const listed = new Set(file.bundles);
  for (const c of file.constraints) {
    if (!listed.has(c.bundleSha256)) {
      throw new DesiredStateError(DesiredStateErrorCode.DESIRED_STATE_INVALID, `constraint ${c.name} uses bundle ${c.bundleSha256}, which the state does not list`);
    }
  }
  const bundles = new Map<string, Uint8Array>();
  for (const sha256 of listed) {
    let wasm: Buffer;
    try {
      wasm = await readFile(bundlePath(stateDir, sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DesiredStateError(DesiredStateErrorCode.BUNDLE_MISSING, `bundle ${sha256} is not in ${dirname(bundlePath(stateDir, sha256))}`);
      }
      throw error;
    }
    const actual = createHash('sha256').update(wasm).digest('hex');
    if (actual !== sha256) {
      throw new DesiredStateError(DesiredStateErrorCode.BUNDLE_HASH_MISMATCH, `bundle file ${sha256}.wasm has SHA-256 ${actual}`);
    }
    bundles.set(sha256, new Uint8Array(wasm));
  }
  return {
    generation: file.generation,
    constraints: file.constraints as DesiredStateConstraint[],
    bundles,
    inventoryKinds: file.inventoryKinds ?? [],
    ...(file.admission ? { admission: file.admission } : {}),
  };
}

/** A bundle already on disk, verified; undefined when it is not there or its bytes do not match (it is then fetched again). */
export async function readStoredBundle(stateDir: string, sha256: string): Promise<Uint8Array | undefined> {
  let wasm: Buffer;
  try {
    wasm = await readFile(bundlePath(stateDir, sha256));
  } catch {
    return undefined;
  }
  return createHash('sha256').update(wasm).digest('hex') === sha256 ? new Uint8Array(wasm) : undefined;
}

/** The generation in state.json, without verifying bundles (what the agent asks the API with); undefined when there is no readable state. */
export async function storedGeneration(stateDir: string): Promise<number | undefined> {
  try {
    const parsed = fileSchema.safeParse(JSON.parse(await readFile(statePath(stateDir), 'utf8')));
    return parsed.success ? parsed.data.generation : undefined;
  } catch {
    return undefined;
  }
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/**
 * Writes a state: bundles first (immutable, named by hash), then state.json by atomic replace, so a
 * reader sees the old state or the new one, never a state whose bundles are not there yet.
 */
export async function writeDesiredState(stateDir: string, file: DesiredStateFile, wasm: ReadonlyMap<string, Uint8Array>): Promise<void> {
  for (const sha256 of file.bundles) {
    const bytes = wasm.get(sha256);
    if (!bytes) {
      throw new DesiredStateError(DesiredStateErrorCode.BUNDLE_MISSING, `no wasm given for bundle ${sha256}`);
    }
    await writeAtomically(bundlePath(stateDir, sha256), bytes);
  }
  await writeAtomically(statePath(stateDir), JSON.stringify(file, null, 2));
}
