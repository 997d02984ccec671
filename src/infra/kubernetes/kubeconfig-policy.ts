import { CORE_SCHEMA, load, type YAMLException } from 'js-yaml';

/**
 * A kubeconfig is data, never code: a user-supplied one must not make Farpoint run a command (exec,
 * auth-provider), read a file (token-file, client-certificate, …), use a proxy or skip TLS checks.
 * This parses it without client-node and keeps only one server and inline credentials; every other
 * field, anywhere in a cluster or user entry, is refused by name.
 */

/** Why a kubeconfig is refused, naming the field (never a value from it). */
export class KubeconfigError extends Error {
  constructor(
    message: string,
    /** Where in the kubeconfig, e.g. kubeconfig.users[0].user.exec */
    readonly path = 'kubeconfig',
  ) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

export interface KubeconfigPolicyOptions {
  /** Accept http:// servers (the credentials then travel in clear). */
  readonly allowHttp: boolean;
  /** Accept insecure-skip-tls-verify: true. */
  readonly allowInsecureSkipTlsVerify: boolean;
}

/** Everything Farpoint takes from a kubeconfig: one server and inline credentials. */
export interface ValidatedKubeconfig {
  /** Normalised URL (scheme, host, port, optional path prefix; no trailing slash). */
  readonly server: string;
  readonly hostname: string;
  /** Where the server came from, e.g. kubeconfig.clusters[0].cluster.server */
  readonly serverPath: string;
  readonly tlsServerName?: string;
  readonly insecureSkipTlsVerify: boolean;
  /** PEM, decoded from the *-data fields. */
  readonly caPem?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
}

const MAX_KUBECONFIG_BYTES = 256 * 1024;

type Json = Record<string, unknown>;

const COMMAND = 'Farpoint never runs commands named in a kubeconfig; give the user inline credentials (token, or client-certificate-data and client-key-data)';
const file = (inline: string) => `Farpoint never reads files named in a kubeconfig; inline the content as ${inline}`;
const IMPERSONATION = 'impersonation is not accepted; give the credentials of a user that may install the agent';

// Fields refused with a reason; anything else not accepted below is refused as unknown.
const CLUSTER_REFUSED: Record<string, string> = {
  'certificate-authority': file('certificate-authority-data'),
  'proxy-url': 'Farpoint connects to the API server directly, never through a proxy named in a kubeconfig',
};
const USER_REFUSED: Record<string, string> = {
  exec: COMMAND,
  'auth-provider': COMMAND,
  'token-file': file('token'),
  tokenFile: file('token'),
  'client-certificate': file('client-certificate-data'),
  'client-key': file('client-key-data'),
};
const CLUSTER_ACCEPTED = ['server', 'certificate-authority-data', 'tls-server-name', 'insecure-skip-tls-verify', 'disable-compression', 'extensions'];
const USER_ACCEPTED = ['token', 'client-certificate-data', 'client-key-data', 'username', 'password', 'extensions'];
const CONTEXT_ACCEPTED = ['cluster', 'user', 'namespace', 'extensions'];
const TOP_ACCEPTED = ['apiVersion', 'kind', 'clusters', 'users', 'contexts', 'current-context', 'preferences', 'extensions'];

const isMap = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses and checks a kubeconfig without any I/O; throws KubeconfigError naming the first bad field. */
export function validateKubeconfig(text: string, options: KubeconfigPolicyOptions): ValidatedKubeconfig {
  if (typeof text !== 'string' || !text.trim() || Buffer.byteLength(text) > MAX_KUBECONFIG_BYTES) {
    throw new KubeconfigError('The kubeconfig must be 1 byte to 256 KiB of YAML or JSON.');
  }
  let doc: unknown;
  try {
    // CORE_SCHEMA: plain YAML/JSON values only (no timestamps, binary or merge keys); duplicate keys are refused.
    doc = load(text, { schema: CORE_SCHEMA });
  } catch (error) {
    // js-yaml's message quotes the surrounding text, which may hold a key: only its reason and position.
    const e = error as YAMLException;
    const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    throw new KubeconfigError(`The kubeconfig is not valid YAML or JSON: ${e.reason ?? 'unreadable'}${where}.`);
  }
  if (!isMap(doc)) {
    throw new KubeconfigError('The kubeconfig must be a YAML or JSON mapping with clusters, users, contexts and current-context.');
  }
  onlyKnown(doc, TOP_ACCEPTED, {}, 'kubeconfig');
  if (doc.apiVersion !== undefined && doc.apiVersion !== 'v1') {
    throw new KubeconfigError('kubeconfig.apiVersion must be v1.', 'kubeconfig.apiVersion');
  }
  if (doc.kind !== undefined && doc.kind !== 'Config') {
    throw new KubeconfigError('kubeconfig.kind must be Config.', 'kubeconfig.kind');
  }

  // Every entry is checked, not only the current context's: a kubeconfig naming a command or a file
  // anywhere is refused, so what is accepted never depends on which context happens to be current.
  const clusters = entries(doc, 'clusters', 'cluster', (body, path) => checkCluster(body, path, options));
  const users = entries(doc, 'users', 'user', (body, path) => checkUser(body, path));
  const contexts = entries(doc, 'contexts', 'context', (body, path) => {
    onlyKnown(body, CONTEXT_ACCEPTED, {}, path);
    return { cluster: reference(body, 'cluster', path), user: reference(body, 'user', path), path };
  });

  const current = doc['current-context'];
  if (typeof current !== 'string' || !current) {
    throw new KubeconfigError('The kubeconfig has no current-context.', 'kubeconfig.current-context');
  }
  const context = contexts.get(current);
  if (!context) {
    throw new KubeconfigError('kubeconfig.current-context names a context the kubeconfig does not have.', 'kubeconfig.current-context');
  }
  const cluster = clusters.get(context.value.cluster);
  if (!cluster) {
    throw new KubeconfigError(`${context.value.path}.cluster names a cluster the kubeconfig does not have.`, `${context.value.path}.cluster`);
  }
  const user = users.get(context.value.user);
  if (!user) {
    throw new KubeconfigError(`${context.value.path}.user names a user the kubeconfig does not have.`, `${context.value.path}.user`);
  }
  return { ...cluster.value, ...user.value };
}

/** A list of named entries (`clusters: [{ name, cluster: {…} }]`), each checked, by name. */
function entries<T>(doc: Json, list: string, inner: string, check: (body: Json, path: string) => T): Map<string, { value: T }> {
  const items = doc[list];
  const byName = new Map<string, { value: T }>();
  if (items === undefined || items === null) {
    return byName;
  }
  if (!Array.isArray(items)) {
    throw new KubeconfigError(`kubeconfig.${list} must be a list.`, `kubeconfig.${list}`);
  }
  items.forEach((item: unknown, index) => {
    const path = `kubeconfig.${list}[${index}]`;
    if (!isMap(item)) {
      throw new KubeconfigError(`${path} must be a mapping with name and ${inner}.`, path);
    }
    onlyKnown(item, ['name', inner], {}, path);
    const name = item.name;
    if (typeof name !== 'string' || !name) {
      throw new KubeconfigError(`${path}.name must be a non-empty string.`, `${path}.name`);
    }
    if (byName.has(name)) {
      throw new KubeconfigError(`${path}.name repeats the name of an earlier entry.`, `${path}.name`);
    }
    const body = item[inner];
    if (!isMap(body)) {
      throw new KubeconfigError(`${path}.${inner} must be a mapping.`, `${path}.${inner}`);
    }
    byName.set(name, { value: check(body, `${path}.${inner}`) });
  });
  return byName;
}

function onlyKnown(body: Json, accepted: readonly string[], refused: Record<string, string>, path: string): void {
  for (const key of Object.keys(body)) {
    const at = `${path}.${key}`;
    if (refused[key]) {
      throw new KubeconfigError(`${at} is refused: ${refused[key]}.`, at);
    }
    if (/^(as$|as-|impersonate)/.test(key)) {
      throw new KubeconfigError(`${at} is refused: ${IMPERSONATION}.`, at);
    }
    if (!accepted.includes(key)) {
      throw new KubeconfigError(`${at} is not a field Farpoint accepts here (accepted: ${accepted.join(', ')}).`, at);
    }
  }
}

function reference(body: Json, key: string, path: string): string {
  const value = body[key];
  if (typeof value !== 'string' || !value) {
    throw new KubeconfigError(`${path}.${key} must name a ${key}.`, `${path}.${key}`);
  }
  return value;
}

function optionalString(body: Json, key: string, path: string, pattern: RegExp, what: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new KubeconfigError(`${path}.${key} must be ${what}.`, `${path}.${key}`);
  }
  return value;
}

/** A *-data field: base64 of PEM, returned decoded. */
function pemData(body: Json, key: string, path: string): string | undefined {
  const value = optionalString(body, key, path, /^[A-Za-z0-9+/=\s]+$/, 'base64 of a PEM block');
  if (value === undefined) {
    return undefined;
  }
  const pem = Buffer.from(value, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN ')) {
    throw new KubeconfigError(`${path}.${key} must be base64 of a PEM block.`, `${path}.${key}`);
  }
  return pem;
}

function checkCluster(body: Json, path: string, options: KubeconfigPolicyOptions) {
  onlyKnown(body, CLUSTER_ACCEPTED, CLUSTER_REFUSED, path);
  const serverPath = `${path}.server`;
  const text = body.server;
  if (typeof text !== 'string' || !text) {
    throw new KubeconfigError(`${serverPath} must be the API server's URL.`, serverPath);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KubeconfigError(`${serverPath} is not a URL.`, serverPath);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
    throw new KubeconfigError(
      `${serverPath} must be an https:// URL${url.protocol === 'http:' ? ' (http:// would send the credentials in clear; ATTACH_ALLOW_HTTP enables it)' : ''}.`,
      serverPath,
    );
  }
  if (url.username || url.password || url.search || url.hash || !url.hostname) {
    throw new KubeconfigError(`${serverPath} must be scheme://host[:port][/path], without credentials, query or fragment.`, serverPath);
  }

  const insecure = body['insecure-skip-tls-verify'];
  if (insecure !== undefined && insecure !== null && typeof insecure !== 'boolean') {
    throw new KubeconfigError(`${path}.insecure-skip-tls-verify must be true or false.`, `${path}.insecure-skip-tls-verify`);
  }
  if (insecure === true && !options.allowInsecureSkipTlsVerify) {
    throw new KubeconfigError(
      `${path}.insecure-skip-tls-verify is refused: the API server's certificate must be verified; give certificate-authority-data.`,
      `${path}.insecure-skip-tls-verify`,
    );
  }
  const compression = body['disable-compression'];
  if (compression !== undefined && compression !== null && typeof compression !== 'boolean') {
    throw new KubeconfigError(`${path}.disable-compression must be true or false.`, `${path}.disable-compression`);
  }
  return {
    server: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    hostname: url.hostname,
    serverPath,
    tlsServerName: optionalString(body, 'tls-server-name', path, /^[A-Za-z0-9.:-]{1,253}$/, 'a host name'),
    insecureSkipTlsVerify: insecure === true,
    caPem: pemData(body, 'certificate-authority-data', path),
  };
}

function checkUser(body: Json, path: string) {
  onlyKnown(body, USER_ACCEPTED, USER_REFUSED, path);
  // Header values: printable, no line breaks (they become Authorization headers).
  const token = optionalString(body, 'token', path, /^[\x21-\x7e]{1,16384}$/, 'a token of printable characters');
  const username = optionalString(body, 'username', path, /^[\x20-\x7e]{1,1024}$/, 'printable text');
  const password = optionalString(body, 'password', path, /^[\x20-\x7e]{1,1024}$/, 'printable text');
  const certPem = pemData(body, 'client-certificate-data', path);
  const keyPem = pemData(body, 'client-key-data', path);
  if (!certPem !== !keyPem) {
    throw new KubeconfigError(`${path} needs both client-certificate-data and client-key-data.`, `${path}.${certPem ? 'client-key-data' : 'client-certificate-data'}`);
  }
  if (!username !== !password) {
    throw new KubeconfigError(`${path} needs both username and password.`, `${path}.${username ? 'password' : 'username'}`);
  }
  if (!token && !certPem && !username) {
    throw new KubeconfigError(`${path} has no inline credentials: give token, or client-certificate-data and client-key-data.`, path);
  }
  return { token, username, password, certPem, keyPem };
}
