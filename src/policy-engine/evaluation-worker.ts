// The thread of an EvaluationPool: a PolicyEngine of its own, fed bundles the first time it needs
// them. Requires only engine files (no YAML, no packages), so the agent image can run it as is.
import { parentPort, workerData } from 'node:worker_threads';
import { PolicyEngine } from './engine';
import { PolicyEngineError } from './errors';
import type { WorkerReply, WorkerTask } from './evaluation-protocol';

/** Marks the threads an EvaluationPool starts; evaluation-pool.ts imports this file only so that every build emits it. */
export const EVALUATION_WORKER = 'farpointEvaluationWorker';

const port = parentPort;
if (port && (workerData as Record<string, unknown> | null)?.[EVALUATION_WORKER] === true) {
  const engine = new PolicyEngine({ maxPolicies: Number(process.env.FARPOINT_POLICY_WORKER_MAX_POLICIES) || 1024 });
  port.on('message', (task: WorkerTask) => {
    void handle(engine, task).then((reply) => port.postMessage(reply));
  });
}

async function handle(engine: PolicyEngine, task: WorkerTask): Promise<WorkerReply> {
  try {
    for (const b of task.bundles) {
      await engine.load(b.sha256, b.wasm);
    }
    const results = engine.evaluate(task.review, task.constraints, { inventory: task.inventory, namespaceObject: task.namespaceObject });
    return { id: task.id, ok: true, results };
  } catch (error) {
    if (error instanceof PolicyEngineError) {
      return { id: task.id, ok: false, error: { code: error.code, message: error.message, details: error.details } };
    }
    return { id: task.id, ok: false, error: { code: 'POLICY_EVALUATION_FAILED', message: error instanceof Error ? error.message : String(error), details: {} } };
  }
}
