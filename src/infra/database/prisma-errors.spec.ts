import { GraphQLError } from 'graphql';
import { formatGraphqlError } from '../../graphql/graphql-error-formatter';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Prisma } from '../../generated/prisma/client';
import { toAgentProtocolError } from '../../modules/agent-gateway/agent-protocol.filter';
import { isDatabaseUnavailable } from './prisma-errors';

const known = (code: string, message = 'failed', meta?: Record<string, unknown>) => new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: 'test', meta });
const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

// What Prisma 7 over node-postgres throws when the database cannot take a request (the shapes are
// the ones test/integration/database/transactions.test.ts sees from a real saturated or absent server).
const UNAVAILABLE: [string, unknown][] = [
  ['pool checkout timed out (pg-pool, unwrapped)', new Error('timeout exceeded when trying to connect')],
  ['transaction could not start in time (P2028)', known('P2028', 'Transaction API error: Unable to start a transaction in the given time.')],
  [
    'server not reachable (P1001)',
    known('P1001', "Can't reach database server at 127.0.0.1:1", { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'DatabaseNotReachable' } } }),
  ],
  ['server closed the connection (P1017)', known('P1017')],
  ['pool timeout (P2024)', known('P2024')],
  ['too many connections (adapter kind)', known('P2010', 'raw query failed', { driverAdapterError: { cause: { kind: 'TooManyConnections' } } })],
  ['administrator shutdown (SQLSTATE 57P01 through the adapter)', known('P2010', 'raw query failed', { driverAdapterError: { cause: { kind: 'postgres', code: '57P01' } } })],
  ['connection lost mid-query', new Error('Connection terminated unexpectedly')],
  ['socket refused', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
  ['wrapped in a cause', new Error('outer', { cause: new Error('timeout exceeded when trying to connect') })],
  // Seen in test/e2e/postgres-outage.test.ts: a commit whose connection was cut, thrown unwrapped.
  ['connection closed at commit (bare DriverAdapterError)', Object.assign(new Error('ConnectionClosed'), { name: 'DriverAdapterError', cause: { kind: 'ConnectionClosed' } })],
];

const NOT_UNAVAILABLE: [string, unknown][] = [
  ['unique violation', known('P2002')],
  ['other transaction API error (expired)', known('P2028', 'Transaction API error: A commit cannot be executed on an expired transaction.')],
  ['record not found', known('P2025')],
  ['a syntax error from Postgres', known('P2010', 'raw query failed', { driverAdapterError: { cause: { kind: 'postgres', code: '42601' } } })],
  ['a bare DriverAdapterError of a bad query', Object.assign(new Error('postgres'), { name: 'DriverAdapterError', cause: { kind: 'postgres', code: '42601' } })],
  ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ['a refusal with a stable code', FarpointError.badInput('no', 'name')],
  ['not an error', 'timeout'],
];

describe(isDatabaseUnavailable.name, () => {
  it.each(UNAVAILABLE)('recognises %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each(NOT_UNAVAILABLE)('does not take %s for an unavailable database', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe('answers to an unavailable database', () => {
  it('GraphQL: SERVICE_UNAVAILABLE without internals, reported as unavailable and not as internal', () => {
    const internal = jest.fn();
    const unavailable = jest.fn();
    const cause = known('P2028', 'Transaction API error: Unable to start a transaction in the given time.');
    const thrown = new GraphQLError(cause.message, { originalError: cause, path: ['attachCluster'] });
    const formatted = formatGraphqlError(thrown.toJSON(), thrown, internal, unavailable);
    expect(formatted.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(formatted.path).toEqual(['attachCluster']);
    expect(formatted.message).toMatch(/Retry in \d+ s/);
    expect(formatted.message).not.toMatch(/transaction|prisma|P20/i);
    expect({ internal: internal.mock.calls.length, unavailable: unavailable.mock.calls.length }).toEqual({ internal: 0, unavailable: 1 });
  });

  it('GraphQL: other unexpected errors stay INTERNAL_SERVER_ERROR', () => {
    const thrown = new GraphQLError('boom', { originalError: new TypeError('boom') });
    expect(
      formatGraphqlError(
        thrown.toJSON(),
        thrown,
        () => undefined,
        () => undefined,
      ).extensions,
    ).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('agent protocol: SERVICE_UNAVAILABLE (503), not INTERNAL_ERROR', () => {
    const mapped = toAgentProtocolError(new Error('timeout exceeded when trying to connect'));
    expect({ code: mapped.error.code, status: mapped.error.httpStatus, unexpected: mapped.unexpected }).toEqual({ code: 'SERVICE_UNAVAILABLE', status: 503, unexpected: false });
    expect(toAgentProtocolError(new TypeError('boom')).error.code).toBe('INTERNAL_ERROR');
  });
});
