import type { z } from 'zod';
import { AgentErrorCode, AgentProtocolError } from './errors';
import { AgentProtocolLimits } from './limits';

/** How many field problems the message spells out before summarising the rest. */
const MAX_LISTED_ISSUES = 10;

export interface ProtocolFieldIssue {
  /** Dotted path with [index] for arrays, e.g. `items[0].payload.nodes[2].name`; `(root)` for the whole body. */
  path: string;
  message: string;
}

export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') {
      out += `[${part}]`;
    } else {
      out += out === '' ? String(part) : `.${String(part)}`;
    }
  }
  return out === '' ? '(root)' : out;
}

export function toFieldIssues(error: z.ZodError): ProtocolFieldIssue[] {
  return error.issues.map((issue) => ({ path: formatIssuePath(issue.path), message: issue.message }));
}

/** One sentence naming the invalid fields, e.g. `The request body is invalid: seq (Too small…); kind (…).` */
export function describeFieldIssues(subject: string, issues: ProtocolFieldIssue[]): string {
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `${i.path} (${i.message})`);
  const more = issues.length > MAX_LISTED_ISSUES ? `; and ${issues.length - MAX_LISTED_ISSUES} more` : '';
  return `The ${subject} is invalid: ${listed.join('; ')}${more}.`;
}

/**
 * Validates input against a protocol schema. Returns the parsed value (unknown fields stripped) or
 * throws AgentProtocolError PROTOCOL_INVALID_BODY whose message lists every invalid field path and
 * whose details.issues holds them as data.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, subject = 'request body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) {
    return result.data;
  }
  const issues = toFieldIssues(result.error);
  throw new AgentProtocolError(AgentErrorCode.PROTOCOL_INVALID_BODY, describeFieldIssues(subject, issues), { issues });
}

/**
 * Parses a raw JSON body: PAYLOAD_TOO_LARGE above the byte limit, PROTOCOL_INVALID_BODY for
 * malformed JSON or a schema mismatch. For servers without their own body parser, and for the agent
 * reading responses.
 */
export function parseJsonBody<S extends z.ZodType>(
  schema: S,
  raw: string | Uint8Array,
  subject = 'request body',
  maxBytes: number = AgentProtocolLimits.maxBodyBytes,
): z.output<S> {
  const bytes = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.byteLength;
  if (bytes > maxBytes) {
    throw new AgentProtocolError(AgentErrorCode.PAYLOAD_TOO_LARGE, `The ${subject} has ${bytes} bytes; the limit is ${maxBytes}.`, { bytes, maxBytes });
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch (error) {
    throw new AgentProtocolError(AgentErrorCode.PROTOCOL_INVALID_BODY, `The ${subject} is not valid JSON: ${(error as Error).message}.`, {
      issues: [{ path: '(root)', message: 'not valid JSON' }],
    });
  }
  return parseOrThrow(schema, value, subject);
}
