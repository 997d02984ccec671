import { dump } from 'js-yaml';
import { KubeconfigError, type KubeconfigPolicyOptions, validateKubeconfig } from './kubeconfig-policy';

const STRICT: KubeconfigPolicyOptions = { allowHttp: false, allowInsecureSkipTlsVerify: false };
const pem = (label: string) => `-----BEGIN ${label}-----\nMIIBfake\n-----END ${label}-----\n`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

type Entry = Record<string, unknown>;
function kubeconfig(cluster: Entry = {}, user: Entry = {}, extra: Entry = {}): string {
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'edge',
    clusters: [{ name: 'edge', cluster: { server: 'https://edge.example.com:6443', 'certificate-authority-data': b64(pem('CERTIFICATE')), ...cluster } }],
    users: [{ name: 'admin', user: { token: 'abc.def', ...user } }],
    contexts: [{ name: 'edge', context: { cluster: 'edge', user: 'admin' } }],
    ...extra,
  });
}

/** The KubeconfigError the text is refused with. */
function refusal(text: string, options = STRICT): KubeconfigError {
  try {
    validateKubeconfig(text, options);
  } catch (error) {
    if (error instanceof KubeconfigError) {
      return error;
    }
    throw error;
  }
  throw new Error('the kubeconfig was accepted');
}

describe(validateKubeconfig.name, () => {
  it('keeps only the server and the inline credentials of the current context', () => {
    const text = dump({
      'current-context': 'b',
      clusters: [
        { name: 'a', cluster: { server: 'https://a.example.com' } },
        {
          name: 'b',
          cluster: {
            server: 'https://10.1.2.3:6443/',
            'tls-server-name': 'kubernetes.default',
            'certificate-authority-data': b64(pem('CERTIFICATE')),
            extensions: [{ name: 'x', extension: {} }],
          },
        },
      ],
      users: [{ name: 'u', user: { 'client-certificate-data': b64(pem('CERTIFICATE')), 'client-key-data': b64(pem('EC PRIVATE KEY')) } }],
      contexts: [
        { name: 'a', context: { cluster: 'a', user: 'u' } },
        { name: 'b', context: { cluster: 'b', user: 'u', namespace: 'default' } },
      ],
      preferences: {},
    });
    expect(validateKubeconfig(text, STRICT)).toEqual({
      server: 'https://10.1.2.3:6443',
      hostname: '10.1.2.3',
      serverPath: 'kubeconfig.clusters[1].cluster.server',
      tlsServerName: 'kubernetes.default',
      insecureSkipTlsVerify: false,
      caPem: pem('CERTIFICATE'),
      certPem: pem('CERTIFICATE'),
      keyPem: pem('EC PRIVATE KEY'),
      token: undefined,
      username: undefined,
      password: undefined,
    });
  });

  it('reads JSON as well as YAML, and keeps a path prefix of the server URL', () => {
    const text = JSON.stringify({
      'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: 'https://rancher.example.com/k8s/clusters/c-1/' } }],
      users: [{ name: 'u', user: { username: 'admin', password: 'pass word' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    });
    expect(validateKubeconfig(text, STRICT)).toMatchObject({ server: 'https://rancher.example.com/k8s/clusters/c-1', username: 'admin', password: 'pass word' });
  });

  it.each([
    ['exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', 'touch /tmp/x'] } }, 'kubeconfig.users[0].user.exec', 'never runs commands'],
    [
      'auth-provider',
      { 'auth-provider': { name: 'gcp', config: { 'cmd-path': '/bin/sh', 'cmd-args': '-c id' } } },
      'kubeconfig.users[0].user.auth-provider',
      'never runs commands',
    ],
    ['token-file', { 'token-file': '/var/run/secrets/token' }, 'kubeconfig.users[0].user.token-file', 'never reads files'],
    ['tokenFile', { tokenFile: '/var/run/secrets/token' }, 'kubeconfig.users[0].user.tokenFile', 'never reads files'],
    ['client-certificate', { 'client-certificate': '/etc/ssl/cert.pem' }, 'kubeconfig.users[0].user.client-certificate', 'as client-certificate-data'],
    ['client-key', { 'client-key': '/etc/ssl/key.pem' }, 'kubeconfig.users[0].user.client-key', 'as client-key-data'],
    ['as', { as: 'system:admin' }, 'kubeconfig.users[0].user.as', 'impersonation'],
    ['as-groups', { 'as-groups': ['system:masters'] }, 'kubeconfig.users[0].user.as-groups', 'impersonation'],
    ['as-user-extra', { 'as-user-extra': { a: ['b'] } }, 'kubeconfig.users[0].user.as-user-extra', 'impersonation'],
    ['impersonate', { impersonate: 'system:admin' }, 'kubeconfig.users[0].user.impersonate', 'impersonation'],
    ['an unknown field', { 'client-go-plugin': 'x' }, 'kubeconfig.users[0].user.client-go-plugin', 'not a field Farpoint accepts'],
  ])('refuses %s in a user, naming the field', (_, user, path, why) => {
    const error = refusal(kubeconfig({}, user));
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain(why);
  });

  it.each([
    ['certificate-authority', { 'certificate-authority': '/etc/kubernetes/ca.crt' }, 'kubeconfig.clusters[0].cluster.certificate-authority', 'never reads files'],
    ['proxy-url', { 'proxy-url': 'http://169.254.169.254' }, 'kubeconfig.clusters[0].cluster.proxy-url', 'never through a proxy'],
    ['insecure-skip-tls-verify', { 'insecure-skip-tls-verify': true }, 'kubeconfig.clusters[0].cluster.insecure-skip-tls-verify', 'must be verified'],
    ['an unknown field', { 'proxy-URL': 'http://x' }, 'kubeconfig.clusters[0].cluster.proxy-URL', 'not a field Farpoint accepts'],
    ['an http server', { server: 'http://edge.example.com:8080' }, 'kubeconfig.clusters[0].cluster.server', 'ATTACH_ALLOW_HTTP'],
    ['a file URL', { server: 'file:///etc/passwd' }, 'kubeconfig.clusters[0].cluster.server', 'https://'],
    ['credentials in the URL', { server: 'https://user:pw@edge.example.com' }, 'kubeconfig.clusters[0].cluster.server', 'without credentials'],
    ['a query in the URL', { server: 'https://edge.example.com/?x=1' }, 'kubeconfig.clusters[0].cluster.server', 'query'],
    ['CA data that is not base64 PEM', { 'certificate-authority-data': b64('not a certificate') }, 'kubeconfig.clusters[0].cluster.certificate-authority-data', 'PEM'],
  ])('refuses %s in a cluster, naming the field', (_, cluster, path, why) => {
    const error = refusal(kubeconfig(cluster));
    expect(error.path).toBe(path);
    expect(error.message).toContain(why);
  });

  it('refuses a dangerous field in an entry the current context does not use', () => {
    const text = kubeconfig(
      {},
      {},
      {
        users: [
          { name: 'admin', user: { token: 't' } },
          { name: 'other', user: { exec: { command: 'id' } } },
        ],
      },
    );
    expect(refusal(text).path).toBe('kubeconfig.users[1].user.exec');
  });

  it('accepts http and insecure-skip-tls-verify only when configuration allows them', () => {
    const http = kubeconfig({ server: 'http://edge.example.com:8080' });
    const insecure = kubeconfig({ 'insecure-skip-tls-verify': true });
    expect(validateKubeconfig(http, { ...STRICT, allowHttp: true }).server).toBe('http://edge.example.com:8080');
    expect(validateKubeconfig(insecure, { ...STRICT, allowInsecureSkipTlsVerify: true }).insecureSkipTlsVerify).toBe(true);
    expect(refusal(insecure, { ...STRICT, allowHttp: true }).path).toBe('kubeconfig.clusters[0].cluster.insecure-skip-tls-verify');
    expect(validateKubeconfig(kubeconfig({ 'insecure-skip-tls-verify': false }), STRICT).insecureSkipTlsVerify).toBe(false);
  });

  it.each([
    ['a certificate without its key', { token: undefined, 'client-certificate-data': b64(pem('CERTIFICATE')) }, 'kubeconfig.users[0].user.client-key-data'],
    ['a username without a password', { token: undefined, username: 'admin' }, 'kubeconfig.users[0].user.password'],
    ['no credentials at all', { token: undefined }, 'kubeconfig.users[0].user'],
    ['a token with a line break', { token: 'abc\r\nX-Injected: 1' }, 'kubeconfig.users[0].user.token'],
    ['a token that is not a string', { token: 12345 }, 'kubeconfig.users[0].user.token'],
  ])('refuses %s', (_, user, path) => {
    expect(refusal(kubeconfig({}, user)).path).toBe(path);
  });

  it.each([
    ['empty', '', 'kubeconfig'],
    ['not YAML', 'apiVersion: v1\nclusters: [unclosed', 'kubeconfig'],
    ['a list', '- a\n- b\n', 'kubeconfig'],
    ['an unknown top-level field', kubeconfig({}, {}, { 'exec-plugins': [] }), 'kubeconfig.exec-plugins'],
    ['no current-context', kubeconfig({}, {}, { 'current-context': undefined }), 'kubeconfig.current-context'],
    ['a current-context that does not exist', kubeconfig({}, {}, { 'current-context': 'nope' }), 'kubeconfig.current-context'],
    ['a context naming a missing user', kubeconfig({}, {}, { contexts: [{ name: 'edge', context: { cluster: 'edge', user: 'ghost' } }] }), 'kubeconfig.contexts[0].context.user'],
    [
      'duplicate cluster names',
      kubeconfig(
        {},
        {},
        {
          clusters: [
            { name: 'edge', cluster: { server: 'https://a' } },
            { name: 'edge', cluster: { server: 'https://b' } },
          ],
        },
      ),
      'kubeconfig.clusters[1].name',
    ],
    ['an unknown key beside name', kubeconfig({}, {}, { users: [{ name: 'admin', user: { token: 't' }, exec: {} }] }), 'kubeconfig.users[0].exec'],
    ['duplicate keys', 'current-context: a\ncurrent-context: b\n', 'kubeconfig'],
    ['more than 256 KiB', `# ${'x'.repeat(256 * 1024)}\n`, 'kubeconfig'],
  ])('refuses a kubeconfig: %s', (_, text, path) => {
    expect(refusal(text).path).toBe(path);
  });

  it('quotes no part of the text when the YAML does not parse (a key may sit next to the error)', () => {
    const error = refusal('users:\n- name: u\n  user:\n    token: SECRET-TOKEN-VALUE\n    x: [unclosed\n');
    expect(error.message).toMatch(/^The kubeconfig is not valid YAML or JSON: .* at line \d+, column \d+\.$/);
    expect(error.message).not.toContain('SECRET');
  });
});
