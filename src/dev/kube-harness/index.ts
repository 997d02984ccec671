export { HARNESS_CONTROLLERS, KubeHarness, type ClusterSpec, type HarnessCluster, type HarnessDescription, type KubeHarnessOptions } from './harness';
export { CLUSTER_PROFILES, nodesForProfile, type ClusterProfile } from './profiles';
export { locateTools, repoRoot, type ToolPaths } from './tools';
export { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssuedCert } from './pki';
export { processesMentioning } from './processes';
