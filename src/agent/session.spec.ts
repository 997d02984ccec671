import { Session } from './session';
import { testSession } from './testing/loops';

describe(Session.name, () => {
  it('ends once: the first reason wins and its signal aborts', () => {
    const { session } = testSession();
    expect(session.signal.aborted).toBe(false);
    session.end({ kind: 'credential-rejected', code: 'CREDENTIAL_REVOKED' });
    session.end({ kind: 'detach' });
    expect(session.signal.aborted).toBe(true);
    expect(session.outcome).toEqual({ kind: 'credential-rejected', code: 'CREDENTIAL_REVOKED' });
  });

  it('ends as stopped when the agent stops', () => {
    const { session, stop } = testSession();
    stop();
    expect(session.signal.aborted).toBe(true);
    expect(session.outcome).toEqual({ kind: 'stopped' });
  });
});
