import { AGENT_ERROR_CODES, AGENT_ERROR_HTTP_STATUS, AgentErrorBodySchema, AgentErrorCode, AgentProtocolError, isCredentialErrorCode, isTokenErrorCode } from './errors';
import { AgentProtocolLimits } from './limits';

describe('agent error codes', () => {
  it('maps every code to a 4xx or 5xx status', () => {
    for (const code of AGENT_ERROR_CODES) {
      expect(AGENT_ERROR_HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
      expect(AGENT_ERROR_HTTP_STATUS[code]).toBeLessThan(600);
    }
  });

  it('answers 401 for every credential failure except a credential of another cluster (403)', () => {
    const credentialCodes = AGENT_ERROR_CODES.filter(isCredentialErrorCode);
    expect(credentialCodes.sort()).toEqual(['CREDENTIAL_EXPIRED', 'CREDENTIAL_INVALID', 'CREDENTIAL_REVOKED', 'CREDENTIAL_WRONG_CLUSTER'].sort());
    expect(credentialCodes.map((c) => AGENT_ERROR_HTTP_STATUS[c]).sort()).toEqual([401, 401, 401, 403]);
    expect(AGENT_ERROR_CODES.filter(isTokenErrorCode)).toEqual(['TOKEN_UNKNOWN', 'TOKEN_USED', 'TOKEN_EXPIRED', 'TOKEN_REVOKED']);
  });
});

describe(AgentProtocolError.name, () => {
  it('serialises to the wire error body', () => {
    const body = new AgentProtocolError(AgentErrorCode.TOKEN_EXPIRED, 'The registration link expired.').toBody();
    expect(AgentErrorBodySchema.parse(body)).toEqual({
      error: { code: 'TOKEN_EXPIRED', message: 'The registration link expired.' },
    });
  });

  it('shortens a message longer than the limit so the body stays valid', () => {
    const long = 'x'.repeat(AgentProtocolLimits.maxErrorMessageLength + 50);
    const body = new AgentProtocolError(AgentErrorCode.INTERNAL_ERROR, long).toBody();
    expect(body.error.message).toHaveLength(AgentProtocolLimits.maxErrorMessageLength);
    expect(AgentErrorBodySchema.safeParse(body).success).toBe(true);
  });
});
