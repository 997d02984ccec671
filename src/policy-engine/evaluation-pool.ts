import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PolicyEngineError, PolicyEngineErrorCode } from './errors';
import type { WorkerReply, WorkerTask } from './evaluation-protocol';
import { EVALUATION_WORKER } from './evaluation-worker';
import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult, Inventory } from './types';

export interface EvaluationPoolOptions {
  /** Worker threads; default 2. */
  size?: number;
  /** Deadline of one evaluation, from when a worker takes it (loading its bundles included). */
  timeoutMs: number;
  /** Evaluations waiting for a worker before new ones are refused (POLICY_EVALUATION_FAILED); default 1000. */
  maxQueue?: number;
}

export interface PoolEvaluation {
  /** Every bundle the constraints use; each worker receives a bundle's bytes once. */
  bundles: { sha256: string; wasm: Uint8Array }[];
  review: AdmissionReviewRequest;
  constraints: ConstraintForEvaluation[];
  inventory?: Inventory;
  namespaceObject?: Record<string, unknown>;
}

interface Job {
  input: PoolEvaluation;
  resolve(results: ConstraintResult[]): void;
  reject(error: Error): void;
  retried: boolean;
}

interface Slot {
  worker: Worker;
  loaded: Set<string>;
  job?: Job & { id: number; timer: NodeJS.Timeout };
}

/**
 * Evaluations off the event loop: a few worker threads, each with its own PolicyEngine. A decision
 * that runs past timeoutMs (a Rego loop over a huge generated set, say) is answered with
 * POLICY_EVALUATION_TIMEOUT and its worker terminated (V8 interrupts WebAssembly too) and replaced;
 * the main thread only posts messages and keeps serving.
 */
export class EvaluationPool {
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers terminated for running past their deadline (or crashing) and replaced. */
  replacedWorkers = 0;

  constructor(options: EvaluationPoolOptions) {
    if (!(options.timeoutMs > 0)) {
      throw new Error('EvaluationPool: timeoutMs must be positive');
    }
    this.size = Math.max(1, options.size ?? 2);
    this.timeoutMs = options.timeoutMs;
    this.maxQueue = options.maxQueue ?? 1000;
  }

  evaluate(input: PoolEvaluation): Promise<ConstraintResult[]> {
    if (this.closed) {
      return Promise.reject(new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, 'the evaluation pool is closed'));
    }
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, `${this.queue.length} evaluations are waiting: try again later`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject, retried: false });
      this.dispatch();
    });
  }

  /** Terminates the workers; evaluations in flight or queued are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const closing = new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, 'the evaluation pool is closed');
    for (const job of this.queue.splice(0)) {
      job.reject(closing);
    }
    await Promise.all(
      this.slots.splice(0).map(async (slot) => {
        if (slot.job) {
          clearTimeout(slot.job.timer);
          slot.job.reject(closing);
        }
        await slot.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) {
        slot = this.spawn();
      }
      if (!slot) {
        return;
      }
      this.run(slot, this.queue.shift()!);
    }
  }

  private run(slot: Slot, job: Job): void {
    const id = this.nextId++;
    const task: WorkerTask = {
      id,
      bundles: uniqueBundles(job.input.bundles).filter((b) => !slot.loaded.has(b.sha256)),
      review: job.input.review,
      constraints: job.input.constraints,
      ...(job.input.inventory ? { inventory: job.input.inventory } : {}),
      ...(job.input.namespaceObject ? { namespaceObject: job.input.namespaceObject } : {}),
    };
    const timer = setTimeout(() => this.timedOut(slot), this.timeoutMs);
    slot.job = { ...job, id, timer };
    for (const b of task.bundles) {
      slot.loaded.add(b.sha256);
    }
    slot.worker.postMessage(task);
  }

  private spawn(): Slot {
    const worker = startWorker();
    worker.unref();
    const slot: Slot = { worker, loaded: new Set() };
    worker.on('message', (reply: WorkerReply) => this.replied(slot, reply));
    worker.on('error', (error) => this.crashed(slot, error));
    worker.on('exit', (code) => this.crashed(slot, new Error(`evaluation worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private replied(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) {
      return;
    }
    clearTimeout(job.timer);
    slot.job = undefined;
    if (reply.ok) {
      job.resolve(reply.results);
    } else if (reply.error.code === PolicyEngineErrorCode.BUNDLE_NOT_LOADED && !job.retried) {
      // the worker evicted a bundle we believed loaded: send them all again, once
      slot.loaded.clear();
      this.queue.unshift({ ...job, retried: true });
    } else {
      job.reject(new PolicyEngineError(reply.error.code, reply.error.message, reply.error.details));
    }
    this.dispatch();
  }

  private timedOut(slot: Slot): void {
    const job = slot.job;
    if (!job) {
      return;
    }
    slot.job = undefined;
    this.replace(slot);
    job.reject(
      new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_TIMEOUT, `the policy evaluation did not finish within ${this.timeoutMs} ms and was stopped`, {
        timeoutMs: this.timeoutMs,
      }),
    );
    this.dispatch();
  }

  private crashed(slot: Slot, error: Error): void {
    if (!this.slots.includes(slot)) {
      return;
    } // replaced or closed already
    const job = slot.job;
    slot.job = undefined;
    if (job) {
      clearTimeout(job.timer);
    }
    this.replace(slot);
    job?.reject(new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, `the evaluation worker failed: ${error.message}`));
    this.dispatch();
  }

  /** Drops a slot and terminates its thread; dispatch() spawns a fresh one when work waits. */
  private replace(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index !== -1) {
      this.slots.splice(index, 1);
    }
    this.replacedWorkers++;
    slot.worker.removeAllListeners('exit');
    slot.worker.removeAllListeners('message');
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
  }
}

function uniqueBundles(bundles: PoolEvaluation['bundles']): PoolEvaluation['bundles'] {
  const seen = new Set<string>();
  return bundles.filter((b) => !seen.has(b.sha256) && (seen.add(b.sha256), true));
}

/**
 * The worker runs evaluation-worker.js beside this file (tsc output: dist/, the agent image). From
 * TypeScript sources (jest compiles in its own module registry, which worker threads do not share),
 * the thread registers swc for .ts files first, so tests exercise the same code.
 */
function startWorker(): Worker {
  const js = join(__dirname, 'evaluation-worker.js');
  if (existsSync(js)) {
    return new Worker(js, { workerData: { [EVALUATION_WORKER]: true } });
  }
  const ts = join(__dirname, 'evaluation-worker.ts');
  const swc = require.resolve('@swc/core', { paths: [__dirname] });
  const bootstrap = `
    const { readFileSync } = require('node:fs');
    const { transformSync } = require(${JSON.stringify(swc)});
    require.extensions['.ts'] = (module, filename) => {
      const { code } = transformSync(readFileSync(filename, 'utf8'), {
        filename, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' }, sourceMaps: 'inline',
      });
      module._compile(code, filename);
    };
    require(${JSON.stringify(ts)});
  `;
  return new Worker(bootstrap, { eval: true, workerData: { [EVALUATION_WORKER]: true } });
}
