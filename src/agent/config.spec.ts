import { TEST_CLUSTER_ID } from '../protocol/testing/factories';
import { AgentConfigError, loadAgentConfig } from './config';

describe(loadAgentConfig.name, () => {
  it('applies defaults for everything but the API URL', () => {
    expect(loadAgentConfig({ FARPOINT_API_URL: 'https://farpoint.example.com' })).toEqual({
      apiUrl: 'https://farpoint.example.com',
      expectedClusterId: undefined,
      namespace: 'farpoint-system',
      secretName: 'farpoint-agent',
      stateDir: '/var/lib/farpoint-agent',
      agentVersion: '0.1.0-dev',
      heartbeatIntervalMs: 20_000,
      reportIntervalMs: 10_000,
      forceIntervals: false,
      httpTimeoutMs: 30_000,
      backoffInitialMs: 1_000,
      backoffMaxMs: 300_000,
      idleRecheckMs: 300_000,
      queueMaxItems: 20_000,
      queueMaxBytes: 16 * 1024 * 1024,
      rotateAtFraction: 2 / 3,
      logLevel: 'info',
    });
  });

  it('reads overrides, fractional seconds included, and treats empty values as unset', () => {
    const config = loadAgentConfig({
      FARPOINT_API_URL: 'http://127.0.0.1:3000',
      FARPOINT_CLUSTER_ID: TEST_CLUSTER_ID,
      FARPOINT_AGENT_NAMESPACE: 'edge-agent',
      FARPOINT_AGENT_STATE_DIR: '/tmp/agent',
      FARPOINT_HEARTBEAT_INTERVAL_SECONDS: '0.05',
      FARPOINT_AGENT_QUEUE_MAX_ITEMS: '50',
      FARPOINT_REPORT_INTERVAL_SECONDS: '',
      FARPOINT_AGENT_FORCE_INTERVALS: 'true',
    });
    expect(config).toMatchObject({
      expectedClusterId: TEST_CLUSTER_ID,
      namespace: 'edge-agent',
      stateDir: '/tmp/agent',
      heartbeatIntervalMs: 50,
      reportIntervalMs: 10_000,
      forceIntervals: true,
      queueMaxItems: 50,
    });
  });

  it('names every invalid variable at once', () => {
    const load = () => loadAgentConfig({ FARPOINT_API_URL: 'ftp://x', FARPOINT_HEARTBEAT_INTERVAL_SECONDS: '-1', FARPOINT_CLUSTER_ID: 'nope' });
    expect(load).toThrow(AgentConfigError);
    expect(load).toThrow(/FARPOINT_API_URL: .*FARPOINT_CLUSTER_ID: .*FARPOINT_HEARTBEAT_INTERVAL_SECONDS: /);
  });

  it('requires the API URL', () => {
    expect(() => loadAgentConfig({})).toThrow(/FARPOINT_API_URL/);
  });

  it('leaves admission off by default; on, it needs the https URL the apiserver calls', () => {
    expect(loadAgentConfig({ FARPOINT_API_URL: 'https://farpoint.example.com' }).admission).toBeUndefined();
    expect(() => loadAgentConfig({ FARPOINT_API_URL: 'https://farpoint.example.com', FARPOINT_ADMISSION: 'on' })).toThrow(
      'Invalid agent configuration: FARPOINT_ADMISSION_URL: required when FARPOINT_ADMISSION=on (the https URL of /validate the apiserver calls)',
    );
    expect(() => loadAgentConfig({ FARPOINT_API_URL: 'https://farpoint.example.com', FARPOINT_ADMISSION: 'yes' })).toThrow(/FARPOINT_ADMISSION: /);
    expect(
      loadAgentConfig({
        FARPOINT_API_URL: 'https://farpoint.example.com',
        FARPOINT_ADMISSION: 'on',
        FARPOINT_ADMISSION_URL: 'https://10.0.0.5:9443/validate',
        FARPOINT_ADMISSION_PORT: '9443',
      }).admission,
    ).toEqual({
      url: 'https://10.0.0.5:9443/validate',
      listenHost: '0.0.0.0',
      port: 9443,
      intervalMs: 5000,
      desiredStateIntervalMs: 10_000,
      auditIntervalMs: 60_000,
      summaryWindowMs: 60_000,
    });
    expect(
      loadAgentConfig({
        FARPOINT_API_URL: 'https://farpoint.example.com',
        FARPOINT_ADMISSION: 'on',
        FARPOINT_ADMISSION_URL: 'https://10.0.0.5:9443/validate',
        FARPOINT_DESIRED_STATE_INTERVAL_SECONDS: '0.5',
      }).admission?.desiredStateIntervalMs,
    ).toBe(500);
  });
});
