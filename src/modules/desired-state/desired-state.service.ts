import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/time/clock';
import { BundleSha256Schema, DesiredStateFull, DesiredStateQuerySchema, DesiredStateResponse, InventoryKind } from '../../protocol';
import { AgentGatewayErrors as E } from '../agent-gateway/agent-gateway.errors';
import { AssignmentService } from '../assignments/assignment.service';
import { StagedRolloutService } from '../staged-rollouts/staged-rollout.service';
import { CompiledVersion, desiredConstraints } from './desired-constraints';
import { DesiredStateRepository } from './desired-state.repository';
import type { MaintenanceWindow } from '../sites/maintenance-windows';
import { generationToServe } from './update-window-gate';

/**
 * The desired state of a cluster, as its agent pulls it: the assignments in effect (AssignmentService,
 * the same as effectivePolicies) turned into the constraints the engine evaluates, the bundles they
 * use and the group's admission settings, at the cluster's current generation.
 */
@Injectable()
export class DesiredStateService {
  constructor(
    private readonly repository: DesiredStateRepository,
    private readonly assignments: AssignmentService,
    private readonly stagedRollouts: StagedRolloutService,
    private readonly clock: Clock,
  ) {}

  /**
   * GET /agent/v1/desired-state: unchanged from one primary-key read when the agent runs the current
   * generation, or when it may not take the newer one yet (outside its site's maintenance windows,
   * nothing urgent pending: generationToServe).
   */
  async forAgent(clusterId: string, query: unknown): Promise<DesiredStateResponse> {
    const parsed = DesiredStateQuerySchema.safeParse(query ?? {});
    if (!parsed.success) {
      throw E.invalidParameter('generation', 'must be a non-negative integer');
    }
    const running = parsed.data.generation;
    if (running !== undefined) {
      const row = await this.repository.generation(clusterId);
      if (!row) {
        throw E.credentialInvalid();
      }
      if (row.desiredStateGeneration === running) {
        return { generation: running, unchanged: true };
      }
      const windows = (row.site?.maintenanceWindows ?? []) as MaintenanceWindow[];
      const decision = generationToServe({ running, desired: row.desiredStateGeneration, urgent: row.urgentDesiredStateGeneration, windows, now: this.clock.now() });
      if (decision.serve === 'running') {
        return { generation: running, unchanged: true };
      }
    }
    return this.compute(clusterId);
  }

  /** GET /agent/v1/bundles/{sha256}: only a bundle of the cluster's own current state. */
  async bundleForAgent(clusterId: string, sha256: string): Promise<Uint8Array> {
    if (!BundleSha256Schema.safeParse(sha256).success) {
      throw E.invalidParameter('sha256', 'must be a lowercase hex SHA-256 (64 characters)');
    }
    const state = await this.compute(clusterId);
    if (!state.bundles.includes(sha256)) {
      throw E.bundleNotFound();
    }
    const bundle = await this.repository.bundle(sha256);
    if (!bundle) {
      throw E.bundleNotFound();
    }
    return bundle.wasm;
  }

  /**
   * The full state at the cluster's current generation. The generation is read before the
   * assignments: a change committed in between gives newer constraints under the older number, which
   * the agent's next poll fetches again, never older constraints under a newer number.
   */
  async compute(clusterId: string): Promise<DesiredStateFull> {
    const cluster = await this.repository.cluster(clusterId);
    if (!cluster) {
      throw E.credentialInvalid();
    }
    // Clusters of waves a staged rollout has not released keep those assignments as they were.
    const held = await this.stagedRollouts.heldRevisions(cluster.organizationId, cluster.id);
    const inEffect = await this.assignments.assignmentsInEffect(cluster.organizationId, cluster, held);
    const versionIds = [...new Set(inEffect.map((a) => a.constraint.templateVersionId))];
    const workspaceIds = [...new Set(inEffect.flatMap((a) => (a.workspaceId ? [a.workspaceId] : [])))];
    const [versions, namespaces] = await Promise.all([
      versionIds.length ? this.repository.versions(versionIds) : Promise.resolve([]),
      workspaceIds.length ? this.repository.namespacesByWorkspace(cluster.id, workspaceIds) : Promise.resolve(new Map<string, string[]>()),
    ]);
    const constraints = desiredConstraints(inEffect, new Map<string, CompiledVersion>(versions.map((v) => [v.id, v])), namespaces);
    // What the referential templates among the constraints sent read from data.inventory, each kind once.
    const sentVersions = new Set(inEffect.filter((a) => constraints.some((c) => c.assignmentId === a.id)).map((a) => a.constraint.templateVersionId));
    const kinds = new Map<string, InventoryKind>();
    for (const v of versions.filter((v) => sentVersions.has(v.id))) {
      for (const k of v.syncKinds as unknown as InventoryKind[]) {
        kinds.set(`${k.group}/${k.version}/${k.kind}`, { group: k.group, version: k.version, kind: k.kind });
      }
    }
    return {
      generation: cluster.desiredStateGeneration,
      unchanged: false,
      constraints,
      bundles: [...new Set(constraints.map((c) => c.bundleSha256))].sort(),
      admission: {
        failurePolicy: cluster.group.admissionFailurePolicy === 'FAIL' ? 'Fail' : 'Ignore',
        timeoutSeconds: cluster.group.admissionTimeoutSeconds,
      },
      inventoryKinds: [...kinds.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([, k]) => k),
    };
  }
}
