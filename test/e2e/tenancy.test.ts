// THE TENANCY WALK. Two organizations share one API; org B's ADMIN token runs every operation the live
// schema offers against org A's real objects. For each operation:
//   - arguments are generated from the schema types: every ID slot gets org A's id of the kind the
//     operation's case names (one slot at a time, the others filled with B's own valid ids, then all at
//     once), every other argument and input field a valid value;
//   - the answer must contain nothing of org A (no id, no name, no token prefix or hash), its errors
//     may only be NOT_FOUND, and it must be exactly the answer for a random, non-existent id in the same
//     slot: org A's objects are indistinguishable from nothing at all (no existence oracle);
//   - the same operation with B's own ids must succeed: the walk builds valid operations, so the
//     refusals above are tenancy, not malformed input;
//   - every row org A owns, in every table, is identical before and after, and no row of another
//     organization refers to any of org A's ids.
// Plus, for every operation: no token, a garbage token and a revoked token are UNAUTHENTICATED, and
// every role below the operation's declared role is FORBIDDEN (VIEWER on every mutation).
//
// A new operation without a case in CASES fails the coverage test, telling you to add one.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  getNamedType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { locateTools } from '../../src/dev/kube-harness';
import { OpaCliGateway } from '../../src/infra/opa/opa-cli.gateway';
import { PubSubGateway } from '../../src/infra/redis/pubsub.gateway';
import { policyCompiledChannel } from '../../src/modules/policy-templates/policy-compile.job';
import { type ClusterStatusChange, ClusterStatusService } from '../../src/modules/cluster-status/cluster-status.service';
import { ViolationIngestionService, type ViolationsChange } from '../../src/modules/violations/violation-ingestion.service';
import { startApi, type GqlResponse, type Role, type TestApi } from '../support/api';
import { ApiFactory, DbSeed } from '../support/factories';
import { orgRows, rowsOutsideOrgMentioning, uuidsIn } from '../support/org-snapshot';

type Kind =
  | 'Organization'
  | 'ApiToken'
  | 'Site'
  | 'ClusterGroup'
  | 'Cluster'
  | 'Workspace'
  | 'Namespace'
  | 'ClusterOperation'
  | 'PolicyTemplate'
  | 'PolicyTemplateVersion'
  | 'Constraint'
  | 'PolicyAssignment'
  | 'StagedRollout';

interface Case {
  /** The least role the operation needs (its @RequireRole). */
  role: Role;
  /**
   * Every ID argument or input field, by path ('id', 'input.groupId', 'filter.siteId'), and the kind(s)
   * of object it names. Several kinds: the walk tries org A's object of each.
   */
  ids: Record<string, Kind | Kind[]>;
  /**
   * Set (to the reason) when the arguments the schema requires are not enough for the operation to do
   * anything: with only those, it answers BAD_USER_INPUT, for org A's ids and random ids alike.
   */
  requiredArgsIncomplete?: string;
}

/** One entry per operation of the schema, as `<Type>.<field>`. */
const CASES: Record<string, Case> = {
  'Query.apiTokens': { role: 'ADMIN', ids: {} },
  'Query.viewer': { role: 'VIEWER', ids: {} },
  'Query.site': { role: 'VIEWER', ids: { id: 'Site' } },
  'Query.sites': { role: 'VIEWER', ids: {} },
  'Query.clusterGroup': { role: 'VIEWER', ids: { id: 'ClusterGroup' } },
  'Query.clusterGroups': { role: 'VIEWER', ids: {} },
  'Query.cluster': { role: 'VIEWER', ids: { id: 'Cluster' } },
  'Query.clusters': { role: 'VIEWER', ids: { 'filter.siteId': 'Site', 'filter.groupId': 'ClusterGroup' } },
  'Query.workspace': { role: 'VIEWER', ids: { id: 'Workspace' } },
  'Query.workspaces': { role: 'VIEWER', ids: {} },
  'Query.namespace': { role: 'VIEWER', ids: { id: 'Namespace' } },
  'Query.namespaces': { role: 'VIEWER', ids: { clusterId: 'Cluster', workspaceId: 'Workspace' } },
  'Query.events': {
    role: 'VIEWER',
    ids: {
      objectId: [
        'Cluster',
        'Site',
        'ClusterGroup',
        'Workspace',
        'Namespace',
        'ApiToken',
        'Organization',
        'ClusterOperation',
        'PolicyTemplate',
        'PolicyTemplateVersion',
        'Constraint',
        'PolicyAssignment',
        'StagedRollout',
      ],
    },
  },
  'Query.clusterOperation': { role: 'VIEWER', ids: { id: 'ClusterOperation' } },
  'Mutation.createApiToken': { role: 'ADMIN', ids: {} },
  'Mutation.updateOrganizationSettings': { role: 'ADMIN', ids: {} },
  'Mutation.revokeApiToken': { role: 'ADMIN', ids: { id: 'ApiToken' } },
  'Mutation.createSite': { role: 'EDITOR', ids: {} },
  'Mutation.updateSite': { role: 'EDITOR', ids: { id: 'Site' } },
  'Mutation.deleteSite': { role: 'EDITOR', ids: { id: 'Site' } },
  'Mutation.createClusterGroup': { role: 'EDITOR', ids: {} },
  'Mutation.updateClusterGroup': { role: 'EDITOR', ids: { id: 'ClusterGroup' } },
  'Mutation.deleteClusterGroup': { role: 'EDITOR', ids: { id: 'ClusterGroup' } },
  'Mutation.createCluster': { role: 'EDITOR', ids: { 'input.groupId': 'ClusterGroup', 'input.siteId': 'Site' } },
  'Mutation.updateCluster': { role: 'EDITOR', ids: { id: 'Cluster' } },
  'Mutation.moveCluster': {
    role: 'EDITOR',
    ids: { id: 'Cluster', 'input.groupId': 'ClusterGroup', 'input.siteId': 'Site' },
    requiredArgsIncomplete: 'needs a groupId or a siteId; the schema cannot say "one of"',
  },
  'Mutation.deleteCluster': { role: 'EDITOR', ids: { id: 'Cluster' } },
  'Mutation.createWorkspace': { role: 'EDITOR', ids: {} },
  'Mutation.updateWorkspace': { role: 'EDITOR', ids: { id: 'Workspace' } },
  'Mutation.deleteWorkspace': { role: 'EDITOR', ids: { id: 'Workspace' } },
  'Mutation.createNamespace': { role: 'EDITOR', ids: { 'input.clusterId': 'Cluster', 'input.workspaceId': 'Workspace' } },
  'Mutation.updateNamespace': { role: 'EDITOR', ids: { id: 'Namespace', 'input.workspaceId': 'Workspace' } },
  'Mutation.deleteNamespace': { role: 'EDITOR', ids: { id: 'Namespace' } },
  'Mutation.attachCluster': { role: 'EDITOR', ids: { 'input.groupId': 'ClusterGroup', 'input.siteId': 'Site' } },
  'Mutation.attachClusterWithKubeconfig': { role: 'EDITOR', ids: { 'input.groupId': 'ClusterGroup', 'input.siteId': 'Site' } },
  'Mutation.reissueRegistrationLink': { role: 'EDITOR', ids: { clusterId: 'Cluster' } },
  'Mutation.revokeRegistrationLinks': { role: 'EDITOR', ids: { clusterId: 'Cluster' } },
  'Mutation.detachCluster': { role: 'EDITOR', ids: { id: 'Cluster' } },
  'Subscription.clusterStatusChanged': { role: 'VIEWER', ids: { clusterId: 'Cluster' } },
  'Query.policyTemplates': { role: 'VIEWER', ids: {} },
  'Query.policyTemplate': { role: 'VIEWER', ids: { id: 'PolicyTemplate' } },
  'Query.policyTemplateVersion': { role: 'VIEWER', ids: { id: 'PolicyTemplateVersion' } },
  'Query.exportConstraintTemplate': { role: 'VIEWER', ids: { versionId: 'PolicyTemplateVersion' } },
  'Query.evaluatePolicy': { role: 'EDITOR', ids: { 'input.policy.templateVersionId': 'PolicyTemplateVersion' } },
  'Query.constraints': { role: 'VIEWER', ids: {} },
  'Query.constraint': { role: 'VIEWER', ids: { id: 'Constraint' } },
  'Query.exportConstraint': { role: 'VIEWER', ids: { id: 'Constraint' } },
  'Mutation.createPolicyTemplate': { role: 'EDITOR', ids: {} },
  'Mutation.createPolicyTemplateVersion': { role: 'EDITOR', ids: { templateId: 'PolicyTemplate' } },
  'Mutation.importConstraintTemplate': { role: 'EDITOR', ids: {} },
  'Mutation.publishPolicyTemplateVersion': { role: 'EDITOR', ids: { id: 'PolicyTemplateVersion' } },
  'Mutation.deprecatePolicyTemplateVersion': { role: 'EDITOR', ids: { id: 'PolicyTemplateVersion' } },
  'Mutation.createConstraint': { role: 'EDITOR', ids: { 'input.templateVersionId': 'PolicyTemplateVersion' } },
  'Mutation.updateConstraint': { role: 'EDITOR', ids: { id: 'Constraint', 'input.templateVersionId': 'PolicyTemplateVersion' } },
  'Mutation.deleteConstraint': { role: 'EDITOR', ids: { id: 'Constraint' } },
  'Mutation.importConstraint': { role: 'EDITOR', ids: { templateVersionId: 'PolicyTemplateVersion' } },
  'Query.policyAssignments': { role: 'VIEWER', ids: { 'filter.constraintId': 'Constraint', 'filter.scopeId': ['Organization', 'Site', 'ClusterGroup', 'Cluster', 'Workspace'] } },
  'Query.effectivePolicies': { role: 'VIEWER', ids: { clusterId: 'Cluster' } },
  'Query.namespaceEffectivePolicies': { role: 'VIEWER', ids: { namespaceId: 'Namespace' } },
  // The walk's scope is the schema's first enum value, CLUSTER: A's ids of the other kinds are refused as nothing, too.
  'Mutation.assignPolicy': { role: 'EDITOR', ids: { 'input.constraintId': 'Constraint', 'input.scopeId': ['Cluster', 'Organization', 'Site', 'ClusterGroup', 'Workspace'] } },
  'Mutation.updatePolicyAssignment': { role: 'EDITOR', ids: { id: 'PolicyAssignment' } },
  'Mutation.unassignPolicy': { role: 'EDITOR', ids: { id: 'PolicyAssignment' } },
  'Query.policyAssignmentRollout': { role: 'VIEWER', ids: { assignmentId: 'PolicyAssignment' } },
  'Query.stagedRollouts': { role: 'VIEWER', ids: { assignmentId: 'PolicyAssignment' } },
  'Query.stagedRollout': { role: 'VIEWER', ids: { id: 'StagedRollout' } },
  'Mutation.pauseStagedRollout': { role: 'EDITOR', ids: { id: 'StagedRollout' } },
  'Mutation.resumeStagedRollout': { role: 'EDITOR', ids: { id: 'StagedRollout' } },
  'Mutation.abortStagedRollout': { role: 'EDITOR', ids: { id: 'StagedRollout' } },
  'Subscription.policyTemplateVersionCompiled': { role: 'VIEWER', ids: { templateId: 'PolicyTemplate' } },
  'Query.violations': {
    role: 'VIEWER',
    ids: {
      'filter.templateId': 'PolicyTemplate',
      'filter.assignmentId': 'PolicyAssignment',
      'filter.constraintId': 'Constraint',
      'filter.clusterId': 'Cluster',
      'filter.siteId': 'Site',
      'filter.groupId': 'ClusterGroup',
    },
  },
  'Query.violationCounts': {
    role: 'VIEWER',
    ids: {
      'filter.templateId': 'PolicyTemplate',
      'filter.assignmentId': 'PolicyAssignment',
      'filter.constraintId': 'Constraint',
      'filter.clusterId': 'Cluster',
      'filter.siteId': 'Site',
      'filter.groupId': 'ClusterGroup',
    },
  },
  'Query.complianceSummary': { role: 'VIEWER', ids: { clusterId: 'Cluster', siteId: 'Site' } },
  'Subscription.violationsChanged': { role: 'VIEWER', ids: { clusterId: 'Cluster' } },
};

const ROLES: Role[] = ['VIEWER', 'EDITOR', 'ADMIN'];
const below = (role: Role) => ROLES.slice(0, ROLES.indexOf(role));

// ---- Values for arguments, from the schema types ---------------------------------------------------

let nameCounter = 0;
const uniqueName = () => `walk-${++nameCounter}`;

/** A valid value for a non-ID scalar, by type and by the name of the argument or input field (and the operation). */
function scalarValue(type: string, name: string, where: string, mode: Mode, operation: string): unknown {
  switch (type) {
    case 'String':
      switch (name) {
        case 'name':
          return where.endsWith('tests.name') ? `${uniqueName().replace(/-/g, '_')}_test.rego` : uniqueName();
        case 'kind':
          return `K8sWalk${++nameCounter}`;
        case 'title':
        case 'category':
          return 'Walked by the tenancy test';
        case 'rego':
          return 'package k8swalk\n\nviolation[{"msg": "walked"}] { input.review.object.kind == "Secret" }\n';
        case 'libs':
          return 'package lib.walk\n\nx := 1\n';
        case 'source':
          return 'package k8swalk\n\ntest_walk { true }\n';
        case 'yaml':
          return operation === 'importConstraint' ? WALK_CONSTRAINT(uniqueName()) : WALK_TEMPLATE(`K8sWalk${++nameCounter}`);
        case 'region':
          return 'eu-central';
        case 'group':
          return 'networking.k8s.io';
        case 'version':
          return 'v1';
        case 'labelSelector':
          return 'tier=edge,env in (prod,stage),!canary';
        case 'namespaceSelector':
          return 'team=walk';
        case 'excludedNamespaces':
          return 'kube-system';
        case 'objectKind':
          return 'Cluster';
        case 'type':
          return 'ClusterCreated';
        case 'description':
        case 'address':
        case 'hardwareModel':
          return 'Walked by the tenancy test';
        case 'kubeconfig':
          return KUBECONFIG;
        case 'namespace':
          return 'shop';
        case 'path':
          return '/var/lib/farpoint-agent';
        case 'start':
          return '02:30';
        case 'timeZone':
          return 'Europe/Berlin';
        // A staged rollout's wave (its percent is left out: a wave takes one of the two).
        case 'clusterSelector':
          return 'tier=edge';
        case 'reason':
          return 'Walked by the tenancy test';
        default:
          throw new Error(`tenancy walk: no value for String ${where}; add one to scalarValue() in ${__filename}`);
      }
    case 'Int':
      switch (name) {
        case 'first':
          return 5;
        case 'heartbeatIntervalSeconds':
          return 30;
        case 'disconnectGraceSeconds':
          return 600;
        case 'ttlHours':
        case 'registrationTokenTtlHours':
          return 2;
        case 'apiTokenMaxLifetimeDays':
          return 3650;
        case 'admissionTimeoutSeconds':
          return 5;
        case 'durationMinutes':
          return 90;
        case 'percent':
          return undefined;
        case 'maxFailedClusters':
          return 1;
        case 'maxAdmissionRefusals':
          return 10;
        case 'soakSeconds':
          return 0;
        default:
          throw new Error(`tenancy walk: no value for Int ${where}; add one to scalarValue() in ${__filename}`);
      }
    case 'Float':
      if (name === 'latitude') {
        return 48.137;
      }
      if (name === 'longitude') {
        return 11.575;
      }
      throw new Error(`tenancy walk: no value for Float ${where}; add one to scalarValue() in ${__filename}`);
    // Both values get walked: e.g. detachCluster(force: true) in one mode, force: false in the other.
    case 'Boolean':
      return mode === 'full';
    case 'DateTime':
      return new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();
    case 'Labels':
      return { tier: 'edge', env: 'prod' };
    case 'JSONObject':
      switch (name) {
        case 'parametersSchema':
          return WALK_SCHEMA;
        case 'parameters':
          return { labels: ['team'] };
        case 'match':
          return { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] };
        case 'object':
          return {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'walk', namespace: 'walk', labels: { team: 'web' } },
            spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
          };
        case 'namespaceObject':
          return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'walk' } };
        case 'inventory':
          return {};
        case 'admissionReview': {
          const object = scalarValue('JSONObject', 'object', where, mode, operation);
          return {
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            request: { uid: 'walk', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', name: 'walk', namespace: 'walk', object },
          };
        }
        default:
          throw new Error(`tenancy walk: no value for JSONObject ${where}; add one to scalarValue() in ${__filename}`);
      }
    default:
      throw new Error(`tenancy walk: no value for scalar ${type} (${where}); add one to scalarValue() in ${__filename}`);
  }
}

// Org B's policy objects are of one template kind (K8sWalkB), so a constraint can move between them.
const WALK_SCHEMA = { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } } } };
const WALK_REGO = 'package k8swalkb\n\nviolation[{"msg": msg}] {\n  input.review.object.kind == "Secret"\n  msg := sprintf("%v", [input.parameters.labels])\n}\n';
const WALK_TEMPLATE = (kind: string) => `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: ${kind.toLowerCase()}
spec:
  crd:
    spec:
      names:
        kind: ${kind}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package ${kind.toLowerCase()}

        violation[{"msg": "x"}] { false }
`;
const WALK_CONSTRAINT = (name: string) => `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sWalkB
metadata: { name: ${name} }
spec: { enforcementAction: warn, parameters: { labels: [team] } }
`;

/** Parses, names a server and a user (a documentation address the egress policy allows; no worker runs in this test). */
const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: walk
clusters: [{ name: walk, cluster: { server: 'https://203.0.113.9:6443' } }]
users: [{ name: walk, user: { token: walk-token } }]
contexts: [{ name: walk, context: { cluster: walk, user: walk } }]
`;

/** Arguments the walk leaves out, and why.*/
const OMITTED_ARGS: Record<string, string> = {
  // A cursor from org A's list is tried separately (see 'cursorFromA'); a made-up one is BAD_USER_INPUT.
  after: 'cursor',
};

interface IdSlot {
  path: string;
  list: boolean;
}

/** Every place an ID goes in the operation's arguments (recursing into input objects). */
function idSlots(field: GraphQLField<unknown, unknown>): IdSlot[] {
  const slots: IdSlot[] = [];
  const visit = (type: GraphQLInputType, path: string, list: boolean, seen: Set<string>) => {
    if (isNonNullType(type)) {
      return visit(type.ofType, path, list, seen);
    }
    if (isListType(type)) {
      return visit(type.ofType, path, true, seen);
    }
    if (isScalarType(type) && type.name === 'ID') {
      slots.push({ path, list });
    }
    if (isInputObjectType(type) && !seen.has(type.name)) {
      for (const f of Object.values(type.getFields())) {
        visit(f.type, `${path}.${f.name}`, false, new Set([...seen, type.name]));
      }
    }
  };
  for (const arg of field.args) {
    visit(arg.type, arg.name, false, new Set());
  }
  return slots;
}

type Mode = 'required' | 'full';

/** Variables for the operation: one per argument, named like it. `ids` maps slot path -> id. */
function buildArgs(field: GraphQLField<unknown, unknown>, mode: Mode, ids: Record<string, string>): Record<string, unknown> {
  const value = (type: GraphQLInputType, path: string, name: string): unknown => {
    if (isNonNullType(type)) {
      return value(type.ofType, path, name);
    }
    if (isListType(type)) {
      const item = value(type.ofType, path, name);
      return item === undefined ? undefined : [item];
    }
    if (isScalarType(type) && type.name === 'ID') {
      if (!(path in ids)) {
        throw new Error(`tenancy walk: no id for ${path}`);
      }
      return ids[path];
    }
    if (isScalarType(type)) {
      return scalarValue(type.name, name, path, mode, field.name);
    }
    if (isEnumType(type)) {
      return type.getValues()[0].value;
    }
    if (isInputObjectType(type)) {
      const out: Record<string, unknown> = {};
      // A @oneOf input takes exactly one field: the walk gives the first (the ID slot, where there is one).
      for (const f of type.isOneOf ? Object.values(type.getFields()).slice(0, 1) : Object.values(type.getFields())) {
        if (mode === 'required' && !isNonNullType(f.type) && !type.isOneOf) {
          continue;
        }
        const v = value(f.type, `${path}.${f.name}`, f.name);
        if (v !== undefined) {
          out[f.name] = v;
        }
      }
      return out;
    }
    throw new Error(`tenancy walk: cannot build a value of ${String(type)} for ${path}`);
  };
  const vars: Record<string, unknown> = {};
  for (const arg of field.args) {
    if (arg.name in OMITTED_ARGS) {
      continue;
    }
    if (mode === 'required' && !isNonNullType(arg.type)) {
      continue;
    }
    vars[arg.name] = value(arg.type, arg.name, arg.name);
  }
  return vars;
}

/** A selection of every field, nested up to MAX_NESTING object levels, never revisiting a type on the path. */
const MAX_NESTING = 6;
function selectionOf(type: GraphQLOutputType, level = 1, path: string[] = []): string {
  const named = getNamedType(type) as GraphQLNamedType;
  if (isLeafType(named)) {
    return '';
  }
  if (!isObjectType(named)) {
    return '{ __typename }';
  }
  const parts: string[] = [];
  for (const f of Object.values((named as GraphQLObjectType).getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) {
      continue;
    }
    const child = getNamedType(f.type);
    if (isLeafType(child)) {
      parts.push(f.name);
    } else if (level < MAX_NESTING && !path.includes(child.name)) {
      parts.push(`${f.name} ${selectionOf(f.type, level + 1, [...path, named.name])}`);
    }
  }
  return `{ ${parts.length ? parts.join(' ') : '__typename'} }`;
}

function operationText(opType: string, field: GraphQLField<unknown, unknown>): string {
  const args = field.args;
  const defs = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const uses = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `${opType.toLowerCase()} Walk${defs ? `(${defs})` : ''} { ${field.name}${uses ? `(${uses})` : ''} ${selectionOf(field.type)} }`;
}

// ---- The two organizations --------------------------------------------------------------------------

let api: TestApi;
let schema: GraphQLSchema;
let orgA: string;
let orgB: string;
let adminB: string;
let tokensB: Record<Role, string>;
let revokedB: string;
/** One real object of org A per kind. */
let idsA: Record<Kind, string>;
/** What must never appear in an answer to org B: org A's ids, names, token prefixes and hashes. */
let secretsOfA: string[];
/** The first-page end cursor of each list, as org A sees it. */
const cursorFromA = new Map<string, string>();
let seedB: DbSeed;
let walkBundle: string;
let walkTemplateB: string;
let walkVersions = 0;
const walked = new Set<string>();

const ALPHA = 'alpha';

beforeAll(async () => {
  // The walk selects every field six levels deep, 25 items per list where it leaves `first` out: far
  // beyond the default query cost. Cost limits have tests of their own (errors, security-hardening).
  api = await startApi({ GRAPHQL_MAX_COST: '1000000' });
  schema = api.app.get(GraphQLSchemaHost).schema;

  // Org A, built through the API like a real tenant (so it also has Events and several tokens).
  const a = await api.bootstrapOrgWithId(`${ALPHA}-org`, 'Alpha Corp');
  orgA = a.organizationId;
  const makeA = new ApiFactory(api, a.token, ALPHA);
  const siteA = await makeA.site().labels({ tier: 'edge', env: 'prod' }).create();
  const groupA = await makeA.group().labels({ tier: 'edge', env: 'prod' }).create();
  const clusterA = await makeA.cluster().in(groupA).at(siteA).labels({ tier: 'edge', env: 'prod' }).create();
  const workspaceA = await makeA.workspace().labels({ tier: 'edge', env: 'prod' }).create();
  const namespaceA = await makeA.namespace().on(clusterA).in(workspaceA).labels({ tier: 'edge', env: 'prod' }).create();
  // A cluster attached by link (PENDING, with a registration token) and one by kubeconfig (with an operation).
  await api.gqlOk(a.token, 'mutation($input: AttachClusterInput!) { attachCluster(input: $input) { cluster { id } } }', {
    input: { name: `${ALPHA}-linked`, groupId: groupA.id, siteId: siteA.id },
  });
  const queued = await api.gqlOk(a.token, 'mutation($input: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $input) { operation { id } } }', {
    input: { name: `${ALPHA}-queued`, groupId: groupA.id, kubeconfig: KUBECONFIG },
  });
  await api.createToken(a.token, 'VIEWER', `${ALPHA}-viewer`);
  await api.createToken(a.token, 'EDITOR', `${ALPHA}-editor`);
  const tokenA = await api.prisma.apiToken.findFirstOrThrow({ where: { organizationId: orgA, role: 'ADMIN' } });
  idsA = {
    Organization: orgA,
    ApiToken: tokenA.id,
    Site: siteA.id,
    ClusterGroup: groupA.id,
    Cluster: clusterA.id,
    Workspace: workspaceA.id,
    Namespace: namespaceA.id,
    ClusterOperation: queued.attachClusterWithKubeconfig.operation.id,
    ...(await policyObjectsOf(a.token)),
  };

  // Cursors as org A sees its own lists (before the baseline snapshots: using A's token touches it).
  for (const [key, field] of operations()) {
    // A list of one object's parts (a required id, e.g. an assignment's rollout) is walked through that id instead.
    if (!key.startsWith('Query.') || !field.args.some((arg) => arg.name === 'after') || field.args.some((arg) => isNonNullType(arg.type))) {
      continue;
    }
    const res = await api.gqlOk(a.token, `query { ${field.name}(first: 1) { pageInfo { endCursor } } }`);
    cursorFromA.set(key, res[field.name].pageInfo.endCursor);
  }

  // Org B, with a token per role and a revoked one.
  const b = await api.bootstrapOrgWithId('bravo-org', 'Bravo Ltd');
  orgB = b.organizationId;
  adminB = b.token;
  tokensB = { ADMIN: adminB, EDITOR: await api.createToken(adminB, 'EDITOR', 'bravo-editor'), VIEWER: await api.createToken(adminB, 'VIEWER', 'bravo-viewer') };
  revokedB = await api.createToken(adminB, 'VIEWER', 'bravo-revoked');
  const revokedRow = await api.prisma.apiToken.findFirstOrThrow({ where: { organizationId: orgB, name: 'bravo-revoked' } });
  await api.gqlOk(adminB, 'mutation($id: ID!) { revokeApiToken(id: $id) { id } }', { id: revokedRow.id });
  // B has objects of every kind too, with the same labels as A's, so filters have something to find.
  seedB = new DbSeed(api.prisma, orgB, 'bravo');
  const makeB = new ApiFactory(api, adminB, 'bravo');
  const siteB = await makeB.site().labels({ tier: 'edge', env: 'prod' }).create();
  const clusterB = await makeB.cluster().at(siteB).labels({ tier: 'edge', env: 'prod' }).create();
  await makeB.namespace().on(clusterB).labels({ tier: 'edge', env: 'prod' }).create();

  // B's policy objects are bulk-inserted too: one template (K8sWalkB) whose versions are compiled with the real opa.
  const { wasm } = await new OpaCliGateway({ opaPath: (await locateTools()).opa }).buildWasm([{ path: 'walk.rego', source: WALK_REGO }], ['k8swalkb/violation'], {
    v0Compatible: true,
  });
  walkBundle = createHash('sha256').update(wasm).digest('hex');
  await api.prisma.policyBundle.create({ data: { sha256: walkBundle, wasm: new Uint8Array(wasm), size: wasm.byteLength } });
  walkTemplateB = (await api.prisma.policyTemplate.create({ data: { organizationId: orgB, name: 'k8swalkb', kind: 'K8sWalkB', createdBy: 'test:tenancy' } })).id;
  await freshB('PolicyTemplateVersion');

  const snapshotA = await orgRows(api.prisma, orgA);
  const tokenRowsA = await api.prisma.apiToken.findMany({ where: { organizationId: orgA } });
  secretsOfA = [...uuidsIn(snapshotA), ALPHA, 'Alpha Corp', ...tokenRowsA.flatMap((t) => [t.prefix, t.secretHash])];
  expect(uuidsIn(snapshotA)).toEqual(expect.arrayContaining(Object.values(idsA)));
}, 120_000);

afterAll(async () => {
  await api?.close();
});

function operations(): [string, GraphQLField<unknown, unknown>][] {
  const out: [string, GraphQLField<unknown, unknown>][] = [];
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (root) {
      for (const field of Object.values(root.getFields())) {
        out.push([`${root.name}.${field.name}`, field]);
      }
    }
  }
  return out.sort(([x], [y]) => x.localeCompare(y));
}

function fieldOf(key: string): GraphQLField<unknown, unknown> {
  const found = operations().find(([k]) => k === key);
  if (!found) {
    throw new Error(`${key} has a case in CASES but is not in the live schema any more: remove its case`);
  }
  return found[1];
}

/** A fresh object of org B of the given kind (bulk-inserted; deleting or moving it harms nothing). */
async function freshB(kind: Kind): Promise<string> {
  switch (kind) {
    case 'Organization':
      return orgB;
    case 'ApiToken': {
      const name = uniqueName();
      const token = await api.prisma.apiToken.create({
        data: { organizationId: orgB, name, role: 'VIEWER', prefix: 'fpt_walk00', secretHash: randomBytes(32).toString('hex'), createdBy: 'test:tenancy' },
      });
      return token.id;
    }
    case 'Site':
      return (await seedB.sites(1, () => ({ labels: { tier: 'edge' } })))[0].id;
    case 'ClusterGroup':
      return (await seedB.groups(1))[0].id;
    case 'Workspace':
      return (await seedB.workspaces(1))[0].id;
    case 'Cluster': {
      const groupId = await freshB('ClusterGroup');
      const siteId = await freshB('Site');
      return (await seedB.clusters(1, () => ({ groupId, siteId })))[0].id;
    }
    case 'ClusterOperation': {
      const clusterId = await freshB('Cluster');
      return (await api.prisma.clusterOperation.create({ data: { organizationId: orgB, clusterId, kind: 'ATTACH', createdBy: 'test:tenancy' } })).id;
    }
    case 'Namespace': {
      const clusterId = await freshB('Cluster');
      const workspaceId = await freshB('Workspace');
      return (await seedB.namespaces(1, () => ({ clusterId, workspaceId })))[0].id;
    }
    case 'PolicyTemplate': {
      const kind = `K8sWalkT${++nameCounter}`;
      return (await api.prisma.policyTemplate.create({ data: { organizationId: orgB, name: kind.toLowerCase(), kind, createdBy: 'test:tenancy' } })).id;
    }
    // A COMPILED DRAFT version with passing (no) tests: it can be published, deprecated, evaluated, used.
    case 'PolicyTemplateVersion': {
      const row = await api.prisma.policyTemplateVersion.create({
        data: {
          templateId: walkTemplateB,
          version: ++walkVersions,
          kind: 'K8sWalkB',
          title: 'Walk',
          rego: WALK_REGO,
          libs: [],
          parametersSchema: WALK_SCHEMA,
          sourceHash: `walk-${walkVersions}`,
          compileStatus: 'COMPILED',
          entrypoint: 'k8swalkb/violation',
          bundleSha256: walkBundle,
          bundleSize: 1,
          createdBy: 'test:tenancy',
        },
      });
      return row.id;
    }
    case 'Constraint': {
      const templateVersionId = await freshB('PolicyTemplateVersion');
      return (
        await api.prisma.constraint.create({
          data: { organizationId: orgB, name: uniqueName(), kind: 'K8sWalkB', templateVersionId, parameters: { labels: ['team'] }, createdBy: 'test:tenancy' },
        })
      ).id;
    }
    case 'PolicyAssignment': {
      const constraintId = await freshB('Constraint');
      return (await api.prisma.policyAssignment.create({ data: { organizationId: orgB, constraintId, scope: 'ORGANIZATION', createdBy: 'test:tenancy' } })).id;
    }
    // HALTED: it can be paused, resumed and aborted.
    case 'StagedRollout': {
      const assignmentId = await freshB('PolicyAssignment');
      const revision = { labelSelector: '', namespaceSelector: '', excludedNamespaces: [], enforcementAction: null };
      const rollout = await api.prisma.stagedRollout.create({
        data: {
          organizationId: orgB,
          assignmentId,
          previous: revision,
          target: { ...revision, enforcementAction: 'DENY' },
          waves: [{ name: 'rest', clusterSelector: null, percent: 100 }],
          state: 'HALTED',
          reason: 'walk',
          waveReleasedAt: new Date(),
          countsSince: new Date(),
          createdBy: 'test:tenancy',
        },
      });
      await api.prisma.policyAssignment.update({ where: { id: assignmentId }, data: { activeRolloutId: rollout.id } });
      return rollout.id;
    }
  }
}

/** Org A's template, version and constraint, made through the API. */
async function policyObjectsOf(
  token: string,
): Promise<Pick<Record<Kind, string>, 'PolicyTemplate' | 'PolicyTemplateVersion' | 'Constraint' | 'PolicyAssignment' | 'StagedRollout'>> {
  const imported = await api.gqlOk(token, 'mutation($y: String!) { importConstraintTemplate(yaml: $y) { template { id } version { id } } }', {
    y: WALK_TEMPLATE('K8sAlphaLabels'),
  });
  const constraint = await api.gqlOk(token, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id } }', {
    in: { name: `${ALPHA}-constraint`, templateVersionId: imported.importConstraintTemplate.version.id },
  });
  const assigned = await api.gqlOk(token, 'mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id } }', {
    in: { constraintId: constraint.createConstraint.id, scope: 'ORGANIZATION', scopeId: orgA },
  });
  // A second assignment, rolled out in waves: org A's staged rollout.
  const staged = await api.gqlOk(token, 'mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { activeRollout { id } } }', {
    in: {
      constraintId: constraint.createConstraint.id,
      scope: 'ORGANIZATION',
      scopeId: orgA,
      enforcementAction: 'DENY',
      rollout: { waves: [{ name: 'canary', clusterSelector: 'tier=edge' }] },
    },
  });
  return {
    PolicyTemplate: imported.importConstraintTemplate.template.id,
    PolicyTemplateVersion: imported.importConstraintTemplate.version.id,
    Constraint: constraint.createConstraint.id,
    PolicyAssignment: assigned.assignPolicy.id,
    StagedRollout: staged.assignPolicy.activeRollout.id,
  };
}

const kindsOf = (c: Case, path: string): Kind[] => ([] as Kind[]).concat(c.ids[path]);

async function ownIds(c: Case, slots: IdSlot[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const slot of slots) {
    ids[slot.path] = await freshB(kindsOf(c, slot.path)[0]);
  }
  return ids;
}

// ---- Assertions ---------------------------------------------------------------------------------------

function assertNothingOfA(res: GqlResponse, sent: string[], label: string): void {
  const data = JSON.stringify(res.body.data ?? null);
  const inData = secretsOfA.filter((s) => data.includes(s));
  if (inData.length) {
    throw new Error(`${label}: the answer's data contains org A's ${inData.join(', ')}:\n${data}`);
  }
  // Errors may repeat what the caller sent (e.g. "Cluster <id> does not exist"), nothing else of A.
  let errors = JSON.stringify(res.body.errors ?? []);
  for (const s of sent) {
    errors = errors.split(s).join('<sent>');
  }
  const inErrors = secretsOfA.filter((s) => errors.includes(s));
  if (inErrors.length) {
    throw new Error(`${label}: the answer's errors contain org A's ${inErrors.join(', ')}:\n${errors}`);
  }
}

/** The answer with the given ids replaced by a placeholder, to compare "org A's id" with "no such id". */
function normalised(res: GqlResponse, ids: string[]): { status: number; body: unknown } {
  let text = JSON.stringify(res.body);
  for (const id of ids) {
    text = text.split(id).join('<id>');
  }
  return { status: res.status, body: JSON.parse(text) };
}

const codes = (res: GqlResponse) => (res.errors ?? []).map((e) => e.extensions?.code);

// ---- The walk -----------------------------------------------------------------------------------------

describe('tenancy walk: org B (ADMIN) against org A', () => {
  it('has a case for every Query, Mutation and Subscription field of the live schema, and no stale case', () => {
    const live = operations().map(([key]) => key);
    const missing = live.filter((key) => !(key in CASES));
    const stale = Object.keys(CASES).filter((key) => !live.includes(key));
    const message = [
      ...missing.map((key) => `${key} has no case: add one to CASES in test/e2e/tenancy.test.ts (its role and the kind of object each ID argument names).`),
      ...stale.map((key) => `${key} is in CASES but not in the schema: remove its case.`),
    ].join('\n');
    expect(message).toBe('');
  });

  it.each(Object.keys(CASES).filter((key) => !key.startsWith('Subscription.')))(
    '%s returns nothing of org A and changes nothing of it',
    async (key) => {
      const c = CASES[key];
      const field = fieldOf(key);
      const opType = key.split('.')[0];
      const query = operationText(opType, field);
      const slots = idSlots(field);
      const declared = Object.keys(c.ids).sort();
      expect({ idSlotsInSchema: slots.map((s) => s.path).sort() }).toEqual({ idSlotsInSchema: declared });
      const run = (vars: Record<string, unknown>) => api.gql(adminB, query, vars);

      const before = await orgRows(api.prisma, orgA);

      // Org A's object in one ID slot at a time (B's own valid ids elsewhere), then in all slots at once.
      const assignments: Record<string, Kind>[] = slots.flatMap((slot) => kindsOf(c, slot.path).map((kind) => ({ [slot.path]: kind })));
      if (slots.length > 1) {
        assignments.push(Object.fromEntries(slots.map((s) => [s.path, kindsOf(c, s.path)[0]])));
      }
      for (const assignment of assignments) {
        for (const mode of ['full', 'required'] as Mode[]) {
          // Build the variables once, with placeholders where org A's ids go; then fill them with A's ids,
          // and again with random ids, so the two requests differ in nothing else.
          const paths = Object.keys(assignment);
          const placeholders = paths.map((_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
          const template = JSON.stringify(buildArgs(field, mode, { ...(await ownIds(c, slots)), ...Object.fromEntries(paths.map((p, i) => [p, placeholders[i]])) }));
          if (!placeholders.every((ph) => template.includes(ph))) {
            continue;
          } // this mode leaves the slot out
          const fill = (ids: string[]) => JSON.parse(placeholders.reduce((text, ph, i) => text.split(ph).join(ids[i]), template));
          const sent = paths.map((p) => idsA[assignment[p]]);
          const random = paths.map(() => randomUUID());
          const label = `${key} (${mode} arguments) with org A's ${JSON.stringify(assignment)}`;

          const answer = await run(fill(sent));
          assertNothingOfA(answer, sent, label);
          // Full arguments are valid in every other way, so org A's id is the only thing to refuse.
          const allowed = mode === 'required' && c.requiredArgsIncomplete ? ['NOT_FOUND', 'BAD_USER_INPUT'] : ['NOT_FOUND'];
          expect({ label, codes: codes(answer).filter((code) => !allowed.includes(code!)) }).toEqual({ label, codes: [] });
          if (mode === 'full') {
            // A filter naming org A's object matches nothing; any other use of it is NOT_FOUND.
            const isList = getNamedType(field.type).name.endsWith('Connection');
            const outcome = isList ? { codes: codes(answer), totalCount: answer.data?.[field.name]?.totalCount } : { codes: codes(answer) };
            expect({ label, outcome }).toEqual({ label, outcome: isList ? { codes: [], totalCount: 0 } : { codes: ['NOT_FOUND'] } });
          }
          const nothing = await run(fill(random));
          expect({ label, answer: normalised(answer, sent) }).toEqual({ label, answer: normalised(nothing, random) });
        }
      }

      // A list cursor taken from org A's own listing positions within B's list, never into A's.
      if (cursorFromA.has(key)) {
        const vars = { ...buildArgs(field, 'required', {}), after: cursorFromA.get(key) };
        const answer = await run(vars);
        assertNothingOfA(answer, [], `${key} after org A's cursor`);
        expect(codes(answer).filter((code) => code !== 'BAD_USER_INPUT')).toEqual([]);
      }

      // The same operation with B's own ids works: the walk's operations are valid.
      for (const mode of ['required', 'full'] as Mode[]) {
        const answer = await run(buildArgs(field, mode, await ownIds(c, slots)));
        assertNothingOfA(answer, [], `${key} (${mode}) with B's own ids`);
        if (mode === 'required' && c.requiredArgsIncomplete) {
          expect({ key, mode, codes: codes(answer) }).toEqual({ key, mode, codes: ['BAD_USER_INPUT'] });
          continue;
        }
        expect({ key, mode, status: answer.status, errors: answer.errors }).toEqual({ key, mode, status: 200, errors: undefined });
        expect(answer.data?.[field.name]).toBeTruthy();
      }

      expect(await orgRows(api.prisma, orgA)).toEqual(before);
      expect(await rowsOutsideOrgMentioning(api.prisma, orgA, uuidsIn(before))).toEqual([]);
      walked.add(key);
    },
    60_000,
  );

  it('Subscription.clusterStatusChanged streams org B nothing of org A', async () => {
    const key = 'Subscription.clusterStatusChanged';
    const field = fieldOf(key);
    expect(idSlots(field).map((s) => s.path)).toEqual(Object.keys(CASES[key].ids));
    const before = await orgRows(api.prisma, orgA);
    const clusterA = await api.prisma.cluster.findUniqueOrThrow({ where: { id: idsA.Cluster } });
    const clusterB = await api.prisma.cluster.findUniqueOrThrow({ where: { id: await freshB('Cluster') } });
    const status = api.app.get(ClusterStatusService);
    const change = (c: typeof clusterA, reason: string): ClusterStatusChange => ({
      organizationId: c.organizationId,
      clusterId: c.id,
      clusterName: c.name,
      phase: c.phase,
      previousPhase: c.phase,
      health: 'HEALTHY',
      previousHealth: c.health,
      reason,
      actor: 'system:tenancy-test',
      occurredAt: new Date().toISOString(),
    });

    const ws = wsClient(adminB);
    try {
      const query = operationText('Subscription', field);
      const all = subscribe(ws, query, {});
      const onA = subscribe(ws, query, { clusterId: clusterA.id });
      const onRandom = subscribe(ws, query, { clusterId: randomUUID() });
      const onB = subscribe(ws, query, { clusterId: clusterB.id });
      await subscriptionsHeld(4);
      // The server holds all four; Redis may not have confirmed its SUBSCRIBE yet. Once a change of B's
      // comes through, it has, for all four (they share it). Org A's changes go out alongside: none may
      // ever reach B.
      for (let n = 0; all.items.length === 0; n++) {
        await status.publish([change(clusterA, `warm-up ${n}`), change(clusterB, `warm-up ${n}`)]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Org A's change goes out first; B's two changes after it. Redis delivers in publish order and the
      // server forwards each message before reading the next, so by the time B's second change reaches
      // us, anything of A's would have, on the same socket.
      await status.publish([change(clusterA, 'tick 1'), change(clusterB, 'tick 2')]);
      await all.until((items) => items.some((i) => i.reason === 'tick 2'));
      await status.publish([change(clusterB, 'tick 3')]);
      await all.until((items) => items.some((i) => i.reason === 'tick 3'));
      await onB.until((items) => items.some((i) => i.reason === 'tick 3'));
      const ticks = (sub: Subscription<ClusterStatusChange>) => sub.items.map((i) => i.reason).filter((r) => !r?.startsWith('warm-up'));
      expect(ticks(all)).toEqual(['tick 2', 'tick 3']);
      expect(ticks(onB)).toEqual(['tick 2', 'tick 3']);
      expect(onA.items).toEqual([]);
      expect(onRandom.items).toEqual([]);
      expect(onA.errors).toEqual(onRandom.errors);
      for (const s of [all, onA, onRandom, onB]) {
        expect(JSON.stringify(s.items).includes(clusterA.id)).toBe(false);
        s.stop();
      }
      // Closed streams are let go at once (no status change has to come by first).
      await subscriptionsHeld(0);
    } finally {
      await ws.dispose();
    }
    expect(await orgRows(api.prisma, orgA)).toEqual(before);
    walked.add(key);
  }, 30_000);

  it('Subscription.violationsChanged streams org B nothing of org A', async () => {
    const key = 'Subscription.violationsChanged';
    const field = fieldOf(key);
    expect(idSlots(field).map((s) => s.path)).toEqual(Object.keys(CASES[key].ids));
    const before = await orgRows(api.prisma, orgA);
    const clusterA = await api.prisma.cluster.findUniqueOrThrow({ where: { id: idsA.Cluster } });
    const clusterB = await api.prisma.cluster.findUniqueOrThrow({ where: { id: await freshB('Cluster') } });
    const violations = api.app.get(ViolationIngestionService);
    const change = (c: typeof clusterA, opened: number): ViolationsChange => ({
      organizationId: c.organizationId,
      clusterId: c.id,
      assignmentId: randomUUID(),
      opened,
      resolved: 0,
      open: opened,
      totalViolations: opened,
      occurredAt: new Date().toISOString(),
    });

    const ws = wsClient(adminB);
    try {
      const query = operationText('Subscription', field);
      const all = subscribe<ViolationsChange>(ws, query, {}, 'violationsChanged');
      const onA = subscribe<ViolationsChange>(ws, query, { clusterId: clusterA.id }, 'violationsChanged');
      const onRandom = subscribe<ViolationsChange>(ws, query, { clusterId: randomUUID() }, 'violationsChanged');
      const onB = subscribe<ViolationsChange>(ws, query, { clusterId: clusterB.id }, 'violationsChanged');
      await subscriptionsHeld(4, 'violations');
      // As for clusterStatusChanged: warm up until Redis delivers, then A's change strictly before B's.
      for (let n = 0; all.items.length === 0; n++) {
        await violations.publish([change(clusterA, 1000 + n), change(clusterB, 1000 + n)]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await violations.publish([change(clusterA, 2), change(clusterB, 2)]);
      await all.until((items) => items.some((i) => i.opened === 2));
      await violations.publish([change(clusterB, 3)]);
      await all.until((items) => items.some((i) => i.opened === 3));
      await onB.until((items) => items.some((i) => i.opened === 3));
      const ticks = (sub: Subscription<ViolationsChange>) => sub.items.map((i) => i.opened).filter((n) => n < 1000);
      expect(ticks(all)).toEqual([2, 3]);
      expect(ticks(onB)).toEqual([2, 3]);
      expect(onA.items).toEqual([]);
      expect(onRandom.items).toEqual([]);
      expect(onA.errors).toEqual(onRandom.errors);
      for (const s of [all, onA, onRandom, onB]) {
        expect(JSON.stringify(s.items).includes(clusterA.id)).toBe(false);
        s.stop();
      }
      await subscriptionsHeld(0, 'violations');
    } finally {
      await ws.dispose();
    }
    expect(await orgRows(api.prisma, orgA)).toEqual(before);
    walked.add(key);
  }, 30_000);

  it("Subscription.policyTemplateVersionCompiled: org A's template id is NOT_FOUND like a random one, and org B hears nothing of org A", async () => {
    const key = 'Subscription.policyTemplateVersionCompiled';
    const field = fieldOf(key);
    expect(idSlots(field).map((s) => s.path)).toEqual(Object.keys(CASES[key].ids));
    const before = await orgRows(api.prisma, orgA);
    const templateB = await freshB('PolicyTemplate');
    const query = operationText('Subscription', field);
    const pubsub = api.app.get(PubSubGateway);
    const listening = (templateId: string) =>
      [...(pubsub as unknown as { listeners: Map<string, Set<unknown>> }).listeners.keys()].some((k) => k.endsWith(policyCompiledChannel(templateId)));
    const message = (templateId: string, tag: string) => ({
      templateId,
      versionId: randomUUID(),
      version: 1,
      compileStatus: 'COMPILED',
      diagnostics: [],
      testsPassed: true,
      bundleSha256: tag,
      occurredAt: new Date().toISOString(),
    });
    const ws = wsClient(adminB);
    try {
      const outcome = async (templateId: string) => {
        const errors: unknown[] = [];
        const data: unknown[] = [];
        await new Promise<void>((resolve) =>
          ws.subscribe(
            { query, variables: { templateId } },
            {
              next: (v) => {
                if (v.errors) {
                  errors.push(...v.errors);
                }
                if (v.data) {
                  data.push(v.data);
                }
              },
              error: (e) => {
                errors.push(e);
                resolve();
              },
              complete: () => resolve(),
            },
          ),
        );
        return { errors, data };
      };
      const onA = await outcome(idsA.PolicyTemplate);
      const random = randomUUID();
      const onRandom = await outcome(random);
      expect(onA.data).toEqual([]);
      expect(JSON.stringify(onA.errors).split(idsA.PolicyTemplate).join('<id>')).toBe(JSON.stringify(onRandom.errors).split(random).join('<id>'));
      expect(JSON.stringify(onA.errors)).toContain('NOT_FOUND');
      expect(listening(idsA.PolicyTemplate)).toBe(false);

      // B's own template streams B's compiles, and only those.
      const items: { bundleSha256: string }[] = [];
      const stop = ws.subscribe<{ policyTemplateVersionCompiled: { bundleSha256: string } }>(
        { query, variables: { templateId: templateB } },
        {
          next: (v) => {
            if (v.data) {
              items.push(v.data.policyTemplateVersionCompiled);
            }
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
      while (!listening(templateB)) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await pubsub.publish(policyCompiledChannel(idsA.PolicyTemplate), message(idsA.PolicyTemplate, 'of-a'));
      await pubsub.publish(policyCompiledChannel(templateB), message(templateB, 'of-b'));
      while (items.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(items.map((i) => i.bundleSha256)).toEqual(['of-b']);
      stop();
    } finally {
      await ws.dispose();
    }
    expect(await orgRows(api.prisma, orgA)).toEqual(before);
    walked.add(key);
  }, 30_000);

  it('walked exactly the operations of the schema (a case alone is not enough: each kind of operation needs its walk)', () => {
    expect([...walked].sort()).toEqual(
      operations()
        .map(([k]) => k)
        .sort(),
    );
  });
});

// ---- Authentication and roles, for every operation --------------------------------------------------

/** Valid variables for any operation, with random ids (the guard must refuse before they matter). */
function anyArgs(key: string): Record<string, unknown> {
  const field = fieldOf(key);
  return buildArgs(field, 'required', Object.fromEntries(idSlots(field).map((s) => [s.path, randomUUID()])));
}

const httpOperations = Object.keys(CASES).filter((key) => !key.startsWith('Subscription.'));

describe('authentication and roles on every operation', () => {
  const refusal = async (key: string, token: string | undefined, headers: Record<string, string> = {}) => {
    const field = fieldOf(key);
    const res = await api.gql(token, operationText(key.split('.')[0], field), anyArgs(key), headers);
    return { status: res.status, codes: codes(res), data: res.data?.[field.name] ?? null };
  };

  it.each(httpOperations)('%s without a token is UNAUTHENTICATED', async (key) => {
    expect(await refusal(key, undefined)).toEqual({ status: 200, codes: ['UNAUTHENTICATED'], data: null });
  });

  it.each(httpOperations)('%s with a garbage token is UNAUTHENTICATED', async (key) => {
    expect(await refusal(key, `fpt_${randomBytes(32).toString('base64url')}`)).toEqual({ status: 200, codes: ['UNAUTHENTICATED'], data: null });
    expect(await refusal(key, 'not-a-token')).toEqual({ status: 200, codes: ['UNAUTHENTICATED'], data: null });
    expect(await refusal(key, undefined, { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` })).toEqual({
      status: 200,
      codes: ['UNAUTHENTICATED'],
      data: null,
    });
  });

  it.each(httpOperations)('%s with a revoked token is UNAUTHENTICATED', async (key) => {
    expect(await refusal(key, revokedB)).toEqual({ status: 200, codes: ['UNAUTHENTICATED'], data: null });
  });

  const subscriptionOperations = Object.keys(CASES).filter((key) => key.startsWith('Subscription.'));
  // graphql-ws authenticates at connection_init: the socket closes with 4401 before any operation runs.
  it.each(subscriptionOperations)('%s without a token, with a garbage or a revoked token is refused at connection_init (4401)', async (key) => {
    const field = fieldOf(key);
    for (const token of [undefined, `fpt_${randomBytes(32).toString('base64url')}`, 'not-a-token', revokedB]) {
      const ws = wsClient(token);
      try {
        const errors = await new Promise<unknown[]>((resolve) => {
          const seen: unknown[] = [];
          ws.subscribe(
            { query: operationText('Subscription', field), variables: anyArgs(key) },
            {
              next: (value) => seen.push(...(value.errors ?? []), ...(value.data ? ['data!'] : [])),
              error: (error) => resolve([...seen, { code: (error as { code?: unknown }).code }]),
              complete: () => resolve(seen),
            },
          );
        });
        expect({ token: token?.slice(0, 8), errors }).toEqual({ token: token?.slice(0, 8), errors: [{ code: 4401 }] });
      } finally {
        await ws.dispose();
      }
    }
  });

  it('declares every mutation above VIEWER', () => {
    const mutations = httpOperations.filter((key) => key.startsWith('Mutation.'));
    expect(mutations.filter((key) => CASES[key].role === 'VIEWER')).toEqual([]);
    expect(mutations.length).toBeGreaterThan(0);
  });

  it.each(httpOperations)('%s refuses every role below its own with FORBIDDEN, changing nothing', async (key) => {
    const field = fieldOf(key);
    const c = CASES[key];
    // Real ids of B's objects: if the guard let the operation through, it would really act.
    const vars = buildArgs(field, 'full', await ownIds(c, idSlots(field)));
    const beforeFresh = await orgRows(api.prisma, orgB, { ignoreColumns: ['ApiToken.lastUsedAt'] });
    for (const role of below(c.role)) {
      const res = await api.gql(tokensB[role], operationText(key.split('.')[0], field), vars);
      expect({ role, status: res.status, codes: codes(res), data: res.data?.[field.name] ?? null }).toEqual({ role, status: 200, codes: ['FORBIDDEN'], data: null });
    }
    expect(await orgRows(api.prisma, orgB, { ignoreColumns: ['ApiToken.lastUsedAt'] })).toEqual(beforeFresh);
    // The declared role itself is let through (so the case's role is not set too high).
    const res = await api.gql(tokensB[c.role], operationText(key.split('.')[0], field), vars);
    expect(codes(res)).not.toContain('FORBIDDEN');
  });
});

// ---- graphql-ws helpers -----------------------------------------------------------------------------

function wsClient(token: string | undefined): WsClient {
  return createClient({
    url: `${api.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: true,
    retryAttempts: 0,
  });
}

interface Subscription<T> {
  items: T[];
  errors: unknown[];
  /** Resolves once the items received satisfy `check` (at once if they already do). */
  until(check: (items: T[]) => boolean): Promise<void>;
  stop(): void;
}

/** The items of the subscription's `field` (clusterStatusChanged unless told). */
function subscribe<T = ClusterStatusChange>(ws: WsClient, query: string, variables: Record<string, unknown>, field = 'clusterStatusChanged'): Subscription<T> {
  const items: T[] = [];
  const errors: unknown[] = [];
  const waiters: { check: (items: T[]) => boolean; resolve: () => void }[] = [];
  const settle = () => {
    for (const w of waiters.filter((w) => w.check(items))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const stop = ws.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) {
          errors.push(value.errors);
        }
        const item = value.data?.[field];
        if (item) {
          items.push(item);
        }
        settle();
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  return {
    items,
    errors,
    until: (check) =>
      new Promise<void>((resolve) => {
        waiters.push({ check, resolve });
        settle();
      }),
    stop,
  };
}

/**
 * Waits until the API process holds `count` live subscriptions (local listeners of its one Redis
 * subscriber connection on cluster-status channels; the process's own token-revocation listener does
 * not count). There is no protocol message for "subscribed".
 */
async function subscriptionsHeld(count: number, channel = 'cluster-status'): Promise<void> {
  const gateway = api.app.get<unknown, { listeners: Map<string, Set<unknown>> }>(PubSubGateway);
  const held = () => [...gateway.listeners.entries()].filter(([key]) => key.includes(`:pubsub:${channel}:`)).reduce((n, [, set]) => n + set.size, 0);
  // Polls until true; if it never is, the test's own timeout fails it.
  while (held() !== count) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
