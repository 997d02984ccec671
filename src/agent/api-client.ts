import { z } from 'zod';
import { type DesiredStateResponse, DesiredStateResponseSchema } from '../protocol/desired-state';
import { type DetachAckRequest, type DetachAckResponse, DetachAckResponseSchema } from '../protocol/detach';
import { AgentErrorBodySchema, type AgentErrorCode, isCredentialErrorCode, isTokenErrorCode } from '../protocol/errors';
import { parseJsonBody, parseOrThrow } from '../protocol/parse';
import { AgentPaths } from '../protocol/paths';
import {
  type RegisterRequest,
  type RegisterResponse,
  RegisterResponseSchema,
  type RotateCredentialRequest,
  type RotateCredentialResponse,
  RotateCredentialResponseSchema,
} from '../protocol/register';
import type { RenewCredentialRequest } from '../protocol/renewal';
import { DIRECTIVE_TYPES, type ReportsRequest, type ReportsResponse, ReportsResponseSchema } from '../protocol/reports';

/** Largest response the agent reads; protocol responses are small. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface ApiResult<T> {
  body: T;
  /** The API's clock (HTTP Date header) in ms, when the response had one. */
  serverTime?: number;
  /** Directive types the agent does not know (ignored, logged). */
  ignoredDirectives?: string[];
}

export type AgentApiErrorKind =
  /** Connection failed or timed out. */
  | 'network'
  /** The API answered with an error status. */
  | 'http'
  /** The API answered 2xx with a body the agent cannot read. */
  | 'invalid-response';

/** A failed API call. `code` is set when the API answered with a protocol error body. */
export class AgentApiError extends Error {
  constructor(
    readonly kind: AgentApiErrorKind,
    message: string,
    readonly status?: number,
    readonly code?: AgentErrorCode,
    /** From Retry-After, for 429 and 503. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AgentApiError';
  }

  /** Retrying with the same credential cannot succeed. */
  get isCredentialRejected(): boolean {
    return this.code !== undefined && isCredentialErrorCode(this.code);
  }

  /** Retrying with the same registration token cannot succeed. */
  get isTokenRejected(): boolean {
    return this.code !== undefined && (isTokenErrorCode(this.code) || this.code === 'CLUSTER_IDENTITY_MISMATCH');
  }

  /** The API refused the request body itself (invalid, too large, or an item it refuses with 422). */
  get isBodyRejected(): boolean {
    return this.code === 'PROTOCOL_INVALID_BODY' || this.code === 'PAYLOAD_TOO_LARGE' || this.status === 400 || this.status === 413 || this.status === 422;
  }
}

/** The agent's view of the API; the agent and its tests depend on this, not on HTTP. */
export interface AgentApi {
  register(request: RegisterRequest): Promise<ApiResult<RegisterResponse>>;
  rotateCredential(credential: string, request: RotateCredentialRequest): Promise<ApiResult<RotateCredentialResponse>>;
  /** POST /agent/v1/credentials/renew with the expired credential as the bearer. */
  renewCredential(expiredCredential: string, request: RenewCredentialRequest): Promise<ApiResult<RotateCredentialResponse>>;
  sendReports(credential: string, request: ReportsRequest): Promise<ApiResult<ReportsResponse>>;
  /** POST /agent/v1/detach/ack: the cluster becomes DETACHED and the credential stops working. */
  acknowledgeDetach(credential: string, request: DetachAckRequest): Promise<ApiResult<DetachAckResponse>>;
  /** GET /agent/v1/desired-state?generation=N (generation undefined: the agent runs none). */
  desiredState(credential: string, generation: number | undefined): Promise<ApiResult<DesiredStateResponse>>;
  /** GET /agent/v1/bundles/{sha256}: the bytes as sent; the caller verifies the hash. */
  bundle(credential: string, sha256: string): Promise<ApiResult<Uint8Array>>;
}

/** Largest desired state the agent reads (2,000 constraints with their parameters and matches). */
const MAX_STATE_BYTES = 8 * 1024 * 1024;
/** Largest bundle the agent downloads (opa's wasm modules are a few hundred KiB). */
const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

export interface HttpAgentApiOptions {
  apiUrl: string;
  agentVersion: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) {
    return undefined;
  }
  const seconds = Number(header);
  if (Number.isFinite(seconds)) {
    return Math.max(0, seconds * 1000);
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const withServerTime = <T>(body: T, serverTime: number | undefined): ApiResult<T> => (serverTime === undefined ? { body } : { body, serverTime });

/** The agent protocol over HTTP(S) with the global fetch. */
export class HttpAgentApi implements AgentApi {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: HttpAgentApiOptions) {
    // Keep a path prefix of the API URL (https://host/farpoint → https://host/farpoint/agent/v1/…).
    this.base = options.apiUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? fetch;
  }

  register(request: RegisterRequest): Promise<ApiResult<RegisterResponse>> {
    return this.post(AgentPaths.register, undefined, request, RegisterResponseSchema);
  }

  rotateCredential(credential: string, request: RotateCredentialRequest): Promise<ApiResult<RotateCredentialResponse>> {
    return this.post(AgentPaths.rotateCredential, credential, request, RotateCredentialResponseSchema);
  }

  renewCredential(expiredCredential: string, request: RenewCredentialRequest): Promise<ApiResult<RotateCredentialResponse>> {
    return this.post(AgentPaths.renewCredential, expiredCredential, request, RotateCredentialResponseSchema);
  }

  acknowledgeDetach(credential: string, request: DetachAckRequest): Promise<ApiResult<DetachAckResponse>> {
    return this.post(AgentPaths.detachAck, credential, request, DetachAckResponseSchema);
  }

  async sendReports(credential: string, request: ReportsRequest): Promise<ApiResult<ReportsResponse>> {
    let ignored: string[] = [];
    const result = await this.post(AgentPaths.reports, credential, request, ReportsResponseSchema, (raw) => {
      // Agents ignore directive types they do not know (a newer API may send them).
      const body = raw as { directives?: unknown };
      if (body && Array.isArray(body.directives)) {
        const known = body.directives.filter((d) => (DIRECTIVE_TYPES as readonly unknown[]).includes((d as { type?: unknown })?.type));
        ignored = body.directives.filter((d) => !known.includes(d)).map((d) => String((d as { type?: unknown })?.type));
        return { ...body, directives: known };
      }
      return raw;
    });
    return ignored.length ? { ...result, ignoredDirectives: ignored } : result;
  }

  async desiredState(credential: string, generation: number | undefined): Promise<ApiResult<DesiredStateResponse>> {
    const query = generation === undefined ? '' : `?generation=${generation}`;
    const { response, bytes, serverTime } = await this.request('GET', `${AgentPaths.desiredState}${query}`, credential, undefined, MAX_STATE_BYTES);
    try {
      const raw = parseJsonBody(z.unknown(), Buffer.from(bytes).toString('utf8'), 'response', MAX_STATE_BYTES);
      return withServerTime(parseOrThrow(DesiredStateResponseSchema, raw, 'response'), serverTime);
    } catch (error) {
      throw new AgentApiError('invalid-response', `GET ${AgentPaths.desiredState} answered ${response.status}: ${(error as Error).message}`, response.status);
    }
  }

  async bundle(credential: string, sha256: string): Promise<ApiResult<Uint8Array>> {
    const { bytes, serverTime } = await this.request('GET', AgentPaths.bundle(sha256), credential, undefined, MAX_BUNDLE_BYTES);
    return withServerTime(bytes, serverTime);
  }

  /** One call: network failures and error statuses as AgentApiError, the body as bytes. */
  private async request(
    method: 'GET' | 'POST',
    path: string,
    credential: string | undefined,
    body: unknown,
    maxBytes: number,
  ): Promise<{ response: Response; bytes: Uint8Array; serverTime?: number }> {
    const headers: Record<string, string> = {
      accept: method === 'GET' && path.includes('/bundles/') ? 'application/wasm' : 'application/json',
      'user-agent': `farpoint-agent/${this.options.agentVersion}`,
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    if (credential) {
      headers.authorization = `Bearer ${credential}`;
    }
    let response: Response;
    let bytes: Uint8Array;
    try {
      response = await this.fetchFn(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new AgentApiError('network', `${method} ${path} failed: ${detail}`);
    }
    const dateHeader = response.headers.get('date');
    const parsedTime = dateHeader ? Date.parse(dateHeader) : NaN;
    const serverTime = Number.isNaN(parsedTime) ? undefined : parsedTime;
    if (!response.ok) {
      const text = Buffer.from(bytes.subarray(0, 64 * 1024)).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const errorBody = AgentErrorBodySchema.safeParse(parsed);
      const code = errorBody.success ? errorBody.data.error.code : undefined;
      const message = errorBody.success ? errorBody.data.error.message : text.slice(0, 200);
      throw new AgentApiError(
        'http',
        `${method} ${path} answered ${response.status}${code ? ` ${code}` : ''}: ${message}`,
        response.status,
        code,
        retryAfterMs(response.headers.get('retry-after'), Date.now()),
      );
    }
    if (bytes.byteLength > maxBytes) {
      throw new AgentApiError('invalid-response', `${method} ${path} answered ${bytes.byteLength} bytes, more than the ${maxBytes} the agent reads`, response.status);
    }
    return { response, bytes, serverTime };
  }

  private async post<S extends z.ZodType>(
    path: string,
    credential: string | undefined,
    body: unknown,
    schema: S,
    prepare: (raw: unknown) => unknown = (raw) => raw,
  ): Promise<ApiResult<z.output<S>>> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': `farpoint-agent/${this.options.agentVersion}`,
    };
    if (credential) {
      headers.authorization = `Bearer ${credential}`;
    }
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(`${this.base}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new AgentApiError('network', `POST ${path} failed: ${detail}`);
    }
    const dateHeader = response.headers.get('date');
    const serverTime = dateHeader ? Date.parse(dateHeader) : NaN;
    const withTime = <T>(value: T): ApiResult<T> => (Number.isNaN(serverTime) ? { body: value } : { body: value, serverTime });

    if (!response.ok) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const errorBody = AgentErrorBodySchema.safeParse(parsed);
      const code = errorBody.success ? errorBody.data.error.code : undefined;
      const message = errorBody.success ? errorBody.data.error.message : text.slice(0, 200);
      throw new AgentApiError(
        'http',
        `POST ${path} answered ${response.status}${code ? ` ${code}` : ''}: ${message}`,
        response.status,
        code,
        retryAfterMs(response.headers.get('retry-after'), Date.now()),
      );
    }
    try {
      const raw = parseJsonBody(z.unknown(), text, 'response', MAX_RESPONSE_BYTES);
      return withTime(parseOrThrow(schema, prepare(raw), 'response'));
    } catch (error) {
      const reason = (error as Error).message;
      throw new AgentApiError('invalid-response', `POST ${path} answered ${response.status}: ${reason}`, response.status);
    }
  }
}
