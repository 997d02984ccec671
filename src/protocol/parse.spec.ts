import { z } from 'zod';
import { AgentErrorCode, AgentProtocolError } from './errors';
import { formatIssuePath, parseJsonBody, parseOrThrow } from './parse';
import { RegisterRequestSchema } from './register';
import { ReportsRequestSchema } from './reports';
import { makeHeartbeatItem, makeReportsRequest, TEST_KUBE_SYSTEM_UID, TEST_REGISTRATION_TOKEN } from './testing/factories';

function thrown(fn: () => unknown): AgentProtocolError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AgentProtocolError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected an AgentProtocolError');
}

describe(parseOrThrow.name, () => {
  it('returns the parsed value and strips unknown fields (readers ignore fields they do not know)', () => {
    const body = {
      registrationToken: TEST_REGISTRATION_TOKEN,
      clusterUid: TEST_KUBE_SYSTEM_UID,
      agentVersion: '1.2.0',
      futureField: true,
    };
    expect(parseOrThrow(RegisterRequestSchema, body)).toEqual({
      registrationToken: TEST_REGISTRATION_TOKEN,
      clusterUid: TEST_KUBE_SYSTEM_UID,
      agentVersion: '1.2.0',
    });
  });

  it('throws PROTOCOL_INVALID_BODY with a sentence naming every invalid field path', () => {
    const body = makeReportsRequest([makeHeartbeatItem(2), { ...makeHeartbeatItem(2), observedAt: 'yesterday' }]);
    const error = thrown(() => parseOrThrow(ReportsRequestSchema, { ...body, clusterId: 'not-a-uuid' }));
    expect(error.code).toBe(AgentErrorCode.PROTOCOL_INVALID_BODY);
    expect(error.httpStatus).toBe(400);
    expect(error.message).toMatch(/^The request body is invalid: /);
    expect(error.message).toContain('clusterId (');
    expect(error.message).toContain('items[1].observedAt (');
    expect(error.details.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'clusterId' }), expect.objectContaining({ path: 'items[1].observedAt' })]));
  });

  it('reports a missing body as (root)', () => {
    const error = thrown(() => parseOrThrow(RegisterRequestSchema, undefined, 'register request'));
    expect(error.message).toMatch(/^The register request is invalid: \(root\) \(/);
  });

  it('lists ten fields and summarises the rest', () => {
    const schema = z.object(Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`f${i}`, z.string()])));
    const error = thrown(() => parseOrThrow(schema, {}));
    expect(error.message).toContain('f9 (');
    expect(error.message).not.toContain('f10 (');
    expect(error.message).toContain('and 3 more.');
  });
});

describe(parseJsonBody.name, () => {
  it('rejects a body over the byte limit with PAYLOAD_TOO_LARGE before parsing it', () => {
    const error = thrown(() => parseJsonBody(RegisterRequestSchema, '{"a":"ééé"}', 'request body', 10));
    expect(error.code).toBe(AgentErrorCode.PAYLOAD_TOO_LARGE);
    expect(error.details).toEqual({ bytes: 14, maxBytes: 10 });
  });

  it('rejects malformed JSON with PROTOCOL_INVALID_BODY', () => {
    const error = thrown(() => parseJsonBody(RegisterRequestSchema, '{"registrationToken":'));
    expect(error.code).toBe(AgentErrorCode.PROTOCOL_INVALID_BODY);
    expect(error.message).toMatch(/^The request body is not valid JSON: /);
  });

  it('parses bytes as UTF-8 JSON', () => {
    const raw = Buffer.from(JSON.stringify({ registrationToken: TEST_REGISTRATION_TOKEN, clusterUid: TEST_KUBE_SYSTEM_UID, agentVersion: '1.0.0' }));
    expect(parseJsonBody(RegisterRequestSchema, raw).agentVersion).toBe('1.0.0');
  });
});

describe(formatIssuePath.name, () => {
  it('writes array indexes in brackets', () => {
    expect(formatIssuePath(['items', 0, 'payload', 'nodes', 12, 'name'])).toBe('items[0].payload.nodes[12].name');
  });
});
