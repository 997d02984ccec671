import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { AgentErrorCode, AgentProtocolError } from '../../protocol';
import { toAgentProtocolError } from './agent-protocol.filter';
import { redactAgentUrl } from './agent-routes';

const fastifyError = (code: string, statusCode: number, message = code) => Object.assign(new Error(message), { code, statusCode });

describe(toAgentProtocolError.name, () => {
  it('passes protocol errors through unchanged', () => {
    const error = new AgentProtocolError(AgentErrorCode.TOKEN_USED, 'used');
    expect(toAgentProtocolError(error)).toEqual({ error, unexpected: false });
  });

  it.each([
    ['Fastify body limit', fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413), 'PAYLOAD_TOO_LARGE'],
    ['Nest PayloadTooLargeException', new PayloadTooLargeException(), 'PAYLOAD_TOO_LARGE'],
    ['wrong content type', fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), 'PROTOCOL_INVALID_BODY'],
    ['empty JSON body', fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400), 'PROTOCOL_INVALID_BODY'],
    ['JSON syntax error', Object.assign(new SyntaxError('Unexpected end of JSON input'), { statusCode: 400 }), 'PROTOCOL_INVALID_BODY'],
    ['prototype poisoning', new BadRequestException('Object contains forbidden prototype property'), 'PROTOCOL_INVALID_BODY'],
  ])('maps %s to %s with the protocol status', (_name, error, code) => {
    const mapped = toAgentProtocolError(error);
    expect(mapped.unexpected).toBe(false);
    expect(mapped.error.code).toBe(code);
    expect(mapped.error.httpStatus).toBe(code === 'PAYLOAD_TOO_LARGE' ? 413 : 400);
  });

  it('turns anything else into INTERNAL_ERROR with a generic message that leaks nothing', () => {
    const mapped = toAgentProtocolError(new Error('connection to postgres://farpoint:s3cret@db failed'));
    expect(mapped.unexpected).toBe(true);
    expect(mapped.error.toBody().error.code).toBe('INTERNAL_ERROR');
    expect(mapped.error.httpStatus).toBe(500);
    expect(mapped.error.message).not.toContain('s3cret');
    expect(toAgentProtocolError('a string').error.code).toBe('INTERNAL_ERROR');
  });
});

describe(redactAgentUrl.name, () => {
  it('replaces the token of a manifests URL, and its query', () => {
    expect(redactAgentUrl('/agent/v1/manifests/fpr_abc-DEF_123.yaml')).toBe('/agent/v1/manifests/[redacted].yaml');
    expect(redactAgentUrl('/agent/v1/manifests/fpr_abc.yaml?token=fpr_abc')).toBe('/agent/v1/manifests/[redacted].yaml?[redacted]');
    expect(redactAgentUrl('/agent/v1/manifests/fpr_abc')).toBe('/agent/v1/manifests/[redacted]');
  });

  it('leaves other URLs alone', () => {
    expect(redactAgentUrl('/agent/v1/reports')).toBe('/agent/v1/reports');
    expect(redactAgentUrl('/agent/v1/manifest/fpr_abc-DEF_123.yaml')).toBe('/agent/v1/manifest/[redacted].yaml');
    expect(redactAgentUrl('/graphql?token=fpt_abc&c=fpc_x-y')).toBe('/graphql?token=[redacted]&c=[redacted]');
  });
});
