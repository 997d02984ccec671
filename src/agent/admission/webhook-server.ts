import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult } from '../../policy-engine/types';
import type { Logger } from '../logger';
import { AdmissionReviewError, decide, parseAdmissionReview, type AdmissionDecision } from './admission-review';

/** The apiserver sends at most a few MiB (object + oldObject); more is not an AdmissionReview. */
const MAX_BODY_BYTES = 6 * 1024 * 1024;
export const WEBHOOK_PATH = '/validate';

export interface WebhookPolicies {
  constraints: readonly ConstraintForEvaluation[];
  evaluate(request: AdmissionReviewRequest, constraints: readonly ConstraintForEvaluation[]): ConstraintResult[];
}

export interface WebhookServerOptions {
  certPem: string;
  keyPem: string;
  log: Logger;
  /** The policies in force now; read per request, so a new desired state applies to the next review. */
  policies: () => WebhookPolicies;
  onDecision?: (decision: AdmissionDecision) => void;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The validating admission webhook over HTTPS: POST /validate with an AdmissionReview v1. A request
 * that is not one answers 400 with ADMISSION_REVIEW_INVALID; a policy that cannot be evaluated answers
 * 500 (POLICY_EVALUATION_FAILED), and the webhook's failurePolicy (Ignore by default) decides.
 */
export class WebhookServer {
  private readonly server: Server;

  constructor(private readonly options: WebhookServerOptions) {
    this.server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== WEBHOOK_PATH) {
        answer(res, 404, { code: 'NOT_FOUND', message: `POST ${WEBHOOK_PATH} only` });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          answer(res, 413, { code: 'ADMISSION_REVIEW_TOO_LARGE', message: `more than ${MAX_BODY_BYTES} bytes` });
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => this.handle(Buffer.concat(chunks), res));
    });
  }

  /** A renewed serving certificate for the connections from now on (no restart, no dropped request). */
  updateCertificate(certPem: string, keyPem: string): void {
    this.server.setSecureContext({ cert: certPem, key: keyPem });
  }

  private handle(body: Buffer, res: ServerResponse): void {
    let request: ReturnType<typeof parseAdmissionReview>;
    try {
      request = parseAdmissionReview(JSON.parse(body.toString('utf8')));
    } catch (error) {
      const message = error instanceof AdmissionReviewError ? error.message : `ADMISSION_REVIEW_INVALID: not JSON: ${(error as Error).message}`;
      answer(res, 400, { code: 'ADMISSION_REVIEW_INVALID', message });
      return;
    }
    try {
      const policies = this.options.policies();
      const { review, decision } = decide(request, policies.constraints, (r, c) => policies.evaluate(r, c));
      this.options.onDecision?.(decision);
      answer(res, 200, review);
    } catch (error) {
      this.options.log.warn('admission review not decided', { error, uid: request.uid, kind: request.kind.kind });
      answer(res, 500, { code: 'POLICY_EVALUATION_FAILED', message: (error as Error).message });
    }
  }

  /** A new serving certificate (rotation) for the next connections. */
  setCertificate(certPem: string, keyPem: string): void {
    this.server.setSecureContext({ cert: certPem, key: keyPem });
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
