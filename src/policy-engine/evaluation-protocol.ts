import type { PolicyEngineErrorCode, PolicyEngineErrorDetails } from './errors';
import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult, Inventory } from './types';

/** Messages between an EvaluationPool and its worker threads (structured clone). */
export interface WorkerTask {
  id: number;
  /** Only the bundles this worker has not loaded yet. */
  bundles: { sha256: string; wasm: Uint8Array }[];
  review: AdmissionReviewRequest;
  constraints: ConstraintForEvaluation[];
  inventory?: Inventory;
  namespaceObject?: Record<string, unknown>;
}

export type WorkerReply =
  { id: number; ok: true; results: ConstraintResult[] } | { id: number; ok: false; error: { code: PolicyEngineErrorCode; message: string; details: PolicyEngineErrorDetails } };
