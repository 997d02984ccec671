import { KubeConfig } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { prepareLocalAgent } from './local-agent';

/**
 * Attaches the demo's real local clusters the two ways users do: one by registration link applied
 * with kubectl, one by queue with its kubeconfig. No kubelet runs here, so the installed agent
 * Deployment never starts a pod; for each cluster this prepares a local stand-in configured like that
 * pod (environment from the Deployment, the agent ServiceAccount's identity, see local-agent.ts) and
 * prints "<clusterId> <env file>" so scripts/start.sh can run it.
 *
 *   node dist/src/dev/demo-attach.js <api url> <admin token> <clusters.json> <kubectl> <agents dir>
 */
/** The demo agents' admission webhooks listen on 127.0.0.1 from this port up, one per cluster. */
const ADMISSION_BASE_PORT = Number(process.env.DEMO_ADMISSION_BASE_PORT ?? 9443);

interface HarnessCluster {
  name: string;
  profile: string;
  kubeconfigPath: string;
}

async function main(): Promise<void> {
  const [api, token, clustersJson, kubectl, agentsDir] = process.argv.slice(2);
  if (!agentsDir) {
    throw new Error('usage: demo-attach <api url> <admin token> <clusters.json> <kubectl> <agents dir>');
  }
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await fetch(`${api}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) {
      throw new Error(body.errors.map((e) => e.message).join('; '));
    }
    return body.data!;
  };
  const described = JSON.parse(readFileSync(clustersJson, 'utf8')) as { clusters: HarnessCluster[] };
  const { clusterGroups } = await gql<{ clusterGroups: { edges: { node: { id: string; name: string } }[] } }>('{ clusterGroups(first: 10) { edges { node { id name } } } }');
  const { sites } = await gql<{ sites: { edges: { node: { id: string; name: string } }[] } }>('{ sites(first: 10) { edges { node { id name } } } }');
  const group = (name: string) => clusterGroups.edges.find((e) => e.node.name === name)!.node.id;
  const site = (name: string) => sites.edges.find((e) => e.node.name === name)!.node.id;

  for (const [index, cluster] of described.clusters.entries()) {
    const name = `local-${cluster.name}`;
    // The harness makes new clusters on every start: a record left by an earlier run points at a
    // cluster that no longer exists, so it is force-detached before attaching the new one.
    const existing = await gql<{ clusters: { edges: { node: { id: string } }[] } }>(
      'query($s: String) { clusters(first: 1, filter: { labelSelector: $s }) { edges { node { id } } } }',
      { s: `demo-cluster=${cluster.name}` },
    );
    for (const { node } of existing.clusters.edges) {
      await gql('mutation($id: ID!) { detachCluster(id: $id, force: true) { id } }', { id: node.id });
    }
    const input = {
      name,
      groupId: group(index % 2 === 0 ? 'factory-lines' : 'point-of-sale'),
      siteId: site(index % 2 === 0 ? 'rtm-plant-02' : 'muc-store-0412'),
      labels: { 'demo-cluster': cluster.name, tier: 'edge', env: 'prod' },
    };
    if (index % 2 === 1) {
      // By link: what an operator at a NAT-ed site does.
      const { attachCluster } = await gql<{ attachCluster: { cluster: { id: string }; manifestUrl: string } }>(
        'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id } manifestUrl } }',
        { in: input },
      );
      execFileSync(kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', attachCluster.manifestUrl], { stdio: ['ignore', 'ignore', 'inherit'] });
      console.log(`${attachCluster.cluster.id} ${await standIn(cluster, attachCluster.cluster.id, agentsDir, index)}`);
    } else {
      // By queue: Farpoint reaches the cluster and a worker installs the agent.
      const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
      const { attachClusterWithKubeconfig } = await gql<{ attachClusterWithKubeconfig: { cluster: { id: string } } }>(
        'mutation($in: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $in) { cluster { id } } }',
        { in: { ...input, kubeconfig } },
      );
      console.log(`${attachClusterWithKubeconfig.cluster.id} ${await standIn(cluster, attachClusterWithKubeconfig.cluster.id, agentsDir, index)}`);
    }
  }
}

/** Waits for the installed agent Deployment (the queue worker applies it asynchronously), then writes the stand-in's env file. */
async function standIn(cluster: HarnessCluster, clusterId: string, agentsDir: string, index: number): Promise<string> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  const server = kubeConfig.getCurrentCluster()!;
  const stateDir = join(agentsDir, clusterId);
  mkdirSync(stateDir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const agent = await prepareLocalAgent({ name: cluster.name, server: server.server, caPem: Buffer.from(server.caData!, 'base64').toString(), kubeConfig }, stateDir);
      const envFile = join(stateDir, 'agent.env');
      // Policies at the edge: the agent serves its admission webhook on loopback, where this machine's
      // kube-apiserver calls it (no Service: no kubelet runs here), and audits every 15 s.
      const port = ADMISSION_BASE_PORT + index;
      const admission = {
        FARPOINT_ADMISSION: 'on',
        FARPOINT_ADMISSION_URL: `https://127.0.0.1:${port}/validate`,
        FARPOINT_ADMISSION_LISTEN_HOST: '127.0.0.1',
        FARPOINT_ADMISSION_PORT: String(port),
        FARPOINT_AUDIT_INTERVAL_SECONDS: '15',
      };
      writeFileSync(
        envFile,
        Object.entries({ ...agent.env, ...admission })
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join('\n') + '\n',
        { mode: 0o600 },
      );
      return envFile;
    } catch (error) {
      if (attempt >= 120) {
        throw new Error(`the agent Deployment did not appear in ${cluster.name}: ${(error as Error).message}`);
      }
      await sleep(500);
    }
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
