import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Attaches the demo's real local clusters the two ways users do: one by registration link applied
 * with kubectl, one by queue with its kubeconfig. Prints one line per cluster: "<clusterId> <kubeconfig>"
 * so scripts/start.sh can start an agent for each (no kubelet runs here, so the agent runs as a local
 * process in place of its Deployment).
 *
 *   node dist/src/dev/demo-attach.js <api url> <admin token> <clusters.json> <kubectl>
 */
interface HarnessCluster {
  name: string;
  profile: string;
  kubeconfigPath: string;
}

async function main(): Promise<void> {
  const [api, token, clustersJson, kubectl] = process.argv.slice(2);
  if (!kubectl) throw new Error('usage: demo-attach <api url> <admin token> <clusters.json> <kubectl>');
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await fetch(`${api}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
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
    const existing = await gql<{ clusters: { edges: { node: { id: string } }[] } }>('query($s: String) { clusters(first: 1, filter: { labelSelector: $s }) { edges { node { id } } } }', { s: `demo-cluster=${cluster.name}` });
    for (const { node } of existing.clusters.edges) await gql('mutation($id: ID!) { detachCluster(id: $id, force: true) { id } }', { id: node.id });
    const input = { name, groupId: group(index % 2 === 0 ? 'factory-lines' : 'point-of-sale'), siteId: site(index % 2 === 0 ? 'rtm-plant-02' : 'muc-store-0412'), labels: { 'demo-cluster': cluster.name, tier: 'edge', env: 'prod' } };
    if (index % 2 === 1) {
      // By link: what an operator at a NAT-ed site does.
      const { attachCluster } = await gql<{ attachCluster: { cluster: { id: string }; manifestUrl: string } }>('mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id } manifestUrl } }', { in: input });
      execFileSync(kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', attachCluster.manifestUrl], { stdio: ['ignore', 'ignore', 'inherit'] });
      console.log(`${attachCluster.cluster.id} ${cluster.kubeconfigPath}`);
    } else {
      // By queue: Farpoint reaches the cluster and a worker installs the agent.
      const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
      const { attachClusterWithKubeconfig } = await gql<{ attachClusterWithKubeconfig: { cluster: { id: string } } }>('mutation($in: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $in) { cluster { id } } }', { in: { ...input, kubeconfig } });
      console.log(`${attachClusterWithKubeconfig.cluster.id} ${cluster.kubeconfigPath}`);
    }
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
