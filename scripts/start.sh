#!/usr/bin/env bash
# Starts Farpoint with a demo on this machine: Postgres and Redis (private instances), migrations,
# the API and the worker, a seeded demo organization, and two real local Kubernetes clusters
# (kube-apiserver + etcd from tools/build.sh) attached through agents — one by registration link and
# kubectl, one by queue. Prints the GraphQL URL and an admin token.
# Ctrl-C stops everything it started; `bash scripts/services.sh down` stops Postgres and Redis.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export PORT=${PORT:-4000} HOST=${HOST:-127.0.0.1} LOG_LEVEL=${LOG_LEVEL:-info}
export PUBLIC_URL=${PUBLIC_URL:-http://$HOST:$PORT}
# The demo clusters listen on 127.0.0.1, which a queued attach may only reach when listed.
export ATTACH_ALLOWED_CIDRS=${ATTACH_ALLOWED_CIDRS:-127.0.0.0/8}
logs=$root/.data/logs
mkdir -p "$logs"

node dist/src/infra/database/migrate.cli.js >&2
seed=$(node dist/src/dev/demo-seed.js)
token=$(node -pe 'JSON.parse(process.argv[1]).adminToken' "$seed")

pids=()
cleanup() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT
node dist/src/main.js >> "$logs/api.log" 2>&1 & pids+=($!)
node dist/src/worker.js >> "$logs/worker.log" 2>&1 & pids+=($!)
for _ in $(seq 120); do curl -fs "$PUBLIC_URL/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "$PUBLIC_URL/readyz" >/dev/null || { echo "the API did not become ready; see $logs/api.log" >&2; exit 1; }

# Two real clusters: edge-tkg-01 (3 TKG-style nodes) and edge-k3s-01 (one k3s node).
kube=$root/.data/demo-clusters
rm -rf "$kube"
node dist/src/dev/kube-harness/cli.js --out "$kube" > "$logs/clusters.log" 2>&1 & pids+=($!)
for _ in $(seq 120); do [ -f "$kube/clusters.json" ] && break; sleep 0.5; done
[ -f "$kube/clusters.json" ] || { echo "the demo clusters did not start; see $logs/clusters.log" >&2; exit 1; }

# Attach them, then run each one's agent. No kubelet runs here, so the agent Deployment that the
# manifests install cannot start; a local agent process with the cluster's kubeconfig stands in for it.
attached=$(node dist/src/dev/demo-attach.js "$PUBLIC_URL" "$token" "$kube/clusters.json" "$FARPOINT_TOOLS_BIN/kubectl" "$root/.data/agents")
while read -r cluster_id env_file; do
  # The pod's environment and the agent ServiceAccount's kubeconfig, so it runs with the installed RBAC.
  (set -a; source "$env_file"; exec node dist/src/agent/main.js) >> "$logs/agent-$cluster_id.log" 2>&1 & pids+=($!)
done <<< "$attached"
ready_query='{"query":"{ clusters(filter: {labelSelector: \"demo-cluster\", phases: [READY]}) { totalCount } }"}'
for _ in $(seq 120); do
  count=$(curl -s "$PUBLIC_URL/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" -d "$ready_query" | node -pe 'JSON.parse(require("fs").readFileSync(0)).data.clusters.totalCount' 2>/dev/null || echo 0)
  [ "$count" = 2 ] && break
  sleep 1
done
[ "$count" = 2 ] || echo "warning: the demo clusters are not READY yet; see $logs/agent-*.log" >&2

# Policies across the fleet: recipes assigned to the demo clusters (see src/dev/demo-policies.ts).
policies=$(node dist/src/dev/demo-policies.js "$PUBLIC_URL" "$token" "$root/policies") || { echo "the demo policies could not be assigned; see $logs/worker.log" >&2; policies=""; }
# The first demo cluster is in factory-lines, where "no latest tag" is DENY.
factory=$(node -pe 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).clusters[0].kubeconfigPath' "$kube/clusters.json")

cat <<TXT

  Farpoint is running.
    GraphQL:      $PUBLIC_URL/graphql
    Explorer:     $PUBLIC_URL/graphql/explorer  (add the header  authorization: Bearer <admin token>)
    Metrics:      http://127.0.0.1:${METRICS_PORT:-9464}/metrics
    Admin token:  $token
    Logs:         $logs/{api,worker,clusters,agent-*}.log
    Clusters:     $kube/*.kubeconfig  (kubectl --kubeconfig … get nodes)

  Policies:
$(echo "$policies" | sed 's/^/    /')

  Try:
    curl -s $PUBLIC_URL/graphql -H 'content-type: application/json' \\
      -H 'authorization: Bearer $token' \\
      -d '{"query":"{ clusters(filter: {labelSelector: \"tier=edge,!canary\"}) { totalCount edges { node { name phase health distribution nodeCount site { name } } } } }"}'

    # Refused at the edge by the agent's webhook (the policy's name and message), within seconds of start:
    $FARPOINT_TOOLS_BIN/kubectl --kubeconfig $factory run web --image=nginx:latest

    # What audits found, and what switching the DRYRUN policy to DENY would block now:
    curl -s $PUBLIC_URL/graphql -H 'content-type: application/json' -H 'authorization: Bearer $token' \\
      -d '{"query":"{ violations(first: 10) { totalCount edges { node { kind namespace name message clusterId } } } policyAssignments(first: 10) { edges { node { enforcementAction constraint { name } impact { objects namespaces clusters sites } } } } }"}'

  Ctrl-C stops the API, the worker, the demo clusters and their agents.
TXT
# Stop when the API or the worker exits (an agent removing itself on detach is expected).
wait -n "${pids[0]}" "${pids[1]}"
