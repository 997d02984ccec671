import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { Clock } from '../../common/time/clock';
import type { PolicyAssignment, Prisma, StagedRollout, StagedRolloutState } from '../../generated/prisma/client';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { AssignmentReach, GenerationRepository } from '../desired-state/generation.repository';
import { EventObjectKind, EventType } from '../events/event-types';
import { EventRecorder } from '../events/event.recorder';
import { AssignmentRevision, revisionOf } from './assignment-revision';
import { StagedRolloutErrors as E } from './staged-rollout.errors';
import { StagedRolloutInput, StagedRolloutModel, StagedRolloutsArgs, StagedRolloutWaveModel } from './staged-rollout.model';
import { ACTIVE_STATES, StagedRolloutRepository, WaveStateCounts } from './staged-rollout.repository';
import { placeClusters, planWaves, RolloutWave } from './wave-plan';

const ADVANCE_BATCH = 200;
const MAX_SOAK_SECONDS = 86_400;
const MAX_THRESHOLD = 1_000_000;
/** The actor of steps the advance job takes. */
const SYSTEM_ACTOR = 'system:staged-rollouts';

export interface StartRollout {
  /** The assignment as it is after the change (created or updated in the same transaction). */
  assignment: PolicyAssignment;
  /** As it was before; null for a new assignment. */
  previous: AssignmentRevision | null;
  input: StagedRolloutInput;
  urgent: boolean;
}

export type AdvanceOutcome = 'released' | 'completed' | 'halted' | 'aborted' | 'waiting' | 'skipped';

function threshold(value: number | undefined | null, field: string, max: number, fallback: number | null): number | null {
  if (value === undefined || value === null) {
    return fallback;
  }
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw E.threshold(value, field, max);
  }
  return value;
}

/** The reaches of the assignment before and after: the clusters a rollout concerns. */
function reachesOf(
  assignment: Pick<PolicyAssignment, 'scope' | 'siteId' | 'groupId' | 'clusterId' | 'workspaceId'>,
  rollout: Pick<StagedRollout, 'previous' | 'target'>,
): AssignmentReach[] {
  const revisions = [rollout.previous, rollout.target].filter((r): r is Prisma.JsonObject => r !== null) as unknown as AssignmentRevision[];
  return revisions.map((r) => ({
    scope: assignment.scope,
    siteId: assignment.siteId,
    groupId: assignment.groupId,
    clusterId: assignment.clusterId,
    workspaceId: assignment.workspaceId,
    labelSelector: r.labelSelector,
  }));
}

/**
 * Staged rollouts: a change of one assignment released wave by wave. Starting one happens inside the
 * assignment's own transaction (AssignmentService); the advance job (worker) moves RUNNING ones on;
 * people pause, resume and abort them. Every step is an Event on the rollout.
 */
@Injectable()
export class StagedRolloutService {
  private readonly logger = new Logger(StagedRolloutService.name);

  constructor(
    private readonly rollouts: StagedRolloutRepository,
    private readonly generations: GenerationRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly clock: Clock,
  ) {}

  /**
   * Places the clusters the change concerns in waves and releases the first: only its clusters' generations
   * are bumped. Answers the ids of the clusters bumped. Validation comes first, so a refusal writes nothing.
   */
  async start(tx: Tx, principal: Principal, change: StartRollout): Promise<{ rollout: StagedRollout; bumped: string[] }> {
    const waves = planWaves(change.input.waves);
    const maxFailedClusters = threshold(change.input.maxFailedClusters, 'input.rollout.maxFailedClusters', MAX_THRESHOLD, 0)!;
    const maxAdmissionRefusals = threshold(change.input.maxAdmissionRefusals, 'input.rollout.maxAdmissionRefusals', MAX_THRESHOLD, null);
    const soakSeconds = threshold(change.input.soakSeconds, 'input.rollout.soakSeconds', MAX_SOAK_SECONDS, 0)!;
    const org = principal.organizationId;
    const target = revisionOf(change.assignment);
    const id = randomUUID();
    const shape = { previous: change.previous as unknown as Prisma.JsonObject | null, target: target as unknown as Prisma.JsonObject };
    const reaches = reachesOf(change.assignment, shape);
    const placed = placeClusters(await this.rollouts.reachedClusters(tx, org, reaches), waves, id);
    const now = this.clock.now();
    const rollout = await this.rollouts.create(
      tx,
      {
        id,
        organizationId: org,
        assignmentId: change.assignment.id,
        previous: change.previous,
        target: target as unknown as Prisma.InputJsonObject,
        waves: waves as unknown as Prisma.InputJsonArray,
        releasedWaves: 1,
        maxFailedClusters,
        maxAdmissionRefusals,
        soakSeconds,
        urgent: change.urgent,
        waveReleasedAt: now,
        countsSince: now,
        createdBy: actorOf(principal),
      },
      placed,
    );
    const bumped = await this.generations.bumpRolloutWave(tx, org, { rolloutId: id, index: 0, last: waves.length === 1, reaches }, { urgent: change.urgent });
    const sizes = waves.map((_, i) => [...placed.values()].filter((w) => w === i).length);
    await this.events.recordChange(
      tx,
      principal,
      { kind: EventObjectKind.StagedRollout, id },
      EventType.StagedRolloutStarted,
      `Staged rollout of assignment ${change.assignment.id} started: ${waves.map((w, i) => `${w.name} (${sizes[i]})`).join(', ')}`,
      {
        assignmentId: change.assignment.id,
        waves: waves.map((w, i) => ({ ...w, clusters: sizes[i] })),
        maxFailedClusters,
        maxAdmissionRefusals,
        soakSeconds,
        urgent: change.urgent,
      },
    );
    await this.recordWave(tx, rollout, waves, 0, bumped.length, actorOf(principal));
    return { rollout, bumped };
  }

  /** A halted rollout can be paused too: a person takes it over (and its halt reason is kept). */
  async pause(principal: Principal, id: string): Promise<StagedRollout> {
    return this.step(principal, id, 'paused', ['RUNNING', 'HALTED'], async (tx, r) => {
      const paused = await this.rollouts.update(tx, r.id, { state: 'PAUSED' });
      await this.record(tx, principal, r, EventType.StagedRolloutPaused, `Staged rollout ${r.id} paused (was ${r.state})`, { from: r.state });
      return paused;
    });
  }

  /** A halted rollout resumes too: admission refusals are counted afresh from now; failed clusters still count. */
  async resume(principal: Principal, id: string): Promise<StagedRollout> {
    return this.step(principal, id, 'resumed', ['PAUSED', 'HALTED'], async (tx, r) => {
      const now = this.clock.now();
      const resumed = await this.rollouts.update(tx, r.id, { state: 'RUNNING', reason: null, countsSince: now, waveSyncedAt: null });
      await this.record(tx, principal, r, EventType.StagedRolloutResumed, `Staged rollout ${r.id} resumed (was ${r.state})`, { from: r.state });
      return resumed;
    });
  }

  /**
   * Puts the assignment back as it was (a new assignment is removed) for every cluster, urgent by default
   * (a rollback should not wait for maintenance windows). A DENY assigned above since the start still
   * applies beside it: the assignment returns to exactly what was accepted before.
   */
  async abort(principal: Principal, id: string, urgent: boolean, reason?: string): Promise<StagedRollout> {
    return this.step(principal, id, 'aborted', ACTIVE_STATES, async (tx, r) => {
      const aborted = await this.finish(tx, r, 'ABORTED', reason ?? null, { urgent, revert: true });
      await this.record(tx, principal, r, EventType.StagedRolloutAborted, `Staged rollout ${r.id} aborted${reason ? `: ${reason}` : ''}; assignment ${r.assignmentId} put back`, {
        from: r.state,
        urgent,
        removedAssignment: r.previous === null,
      });
      return aborted;
    });
  }

  /** One pass of the advance job over RUNNING rollouts; a failure of one is logged and the others go on. */
  async advanceAll(): Promise<Record<AdvanceOutcome, number>> {
    const outcomes: Record<AdvanceOutcome, number> = { released: 0, completed: 0, halted: 0, aborted: 0, waiting: 0, skipped: 0 };
    for (const id of await this.rollouts.running(ADVANCE_BATCH)) {
      try {
        outcomes[await this.advance(id)] += 1;
      } catch (error) {
        this.logger.error(`staged rollout ${id}: advance failed: ${(error as Error).message}`);
      }
    }
    return outcomes;
  }

  /**
   * One step of a RUNNING rollout: halt when the released waves pass a threshold; else, once they are in
   * sync (clusters offline do not hold it back; they take the change when they return) and soaked,
   * release the next wave or complete.
   */
  async advance(id: string): Promise<AdvanceOutcome> {
    return this.transactions.run(async (tx) => {
      const r = await this.rollouts.lockRunning(tx, id);
      if (!r) {
        return 'skipped';
      }
      const assignment = r.assignmentId ? await this.rollouts.assignment(r.assignmentId, tx) : null;
      if (!assignment) {
        await this.rollouts.update(tx, r.id, { state: 'ABORTED', reason: 'the assignment was deleted', finishedAt: this.clock.now() });
        await this.systemEvent(tx, r, EventType.StagedRolloutAborted, `Staged rollout ${r.id} ended: its assignment was deleted`, 'INFO', {});
        return 'aborted';
      }
      const waves = r.waves as unknown as RolloutWave[];
      const last = waves.length - 1;
      const counts = await this.rollouts.waveCounts(r, last, reachesOf(assignment, r), tx);
      let failed = 0;
      let pending = 0;
      for (let w = 0; w < r.releasedWaves; w++) {
        const c = counts.get(w);
        failed += c?.FAILED ?? 0;
        pending += (c?.PENDING ?? 0) + (c?.WAITING_FOR_WINDOW ?? 0);
      }
      if (failed > r.maxFailedClusters) {
        return this.halt(tx, r, `${failed} clusters of the released waves failed to apply the change (at most ${r.maxFailedClusters} allowed)`, { failed });
      }
      if (r.maxAdmissionRefusals !== null) {
        const refused = await this.rollouts.admissionRefusals(tx, r, r.countsSince, last);
        if (refused > r.maxAdmissionRefusals) {
          return this.halt(tx, r, `the released waves refused ${refused} admission requests under this assignment (at most ${r.maxAdmissionRefusals} allowed)`, { refused });
        }
      }
      const now = this.clock.now();
      if (pending > 0) {
        if (r.waveSyncedAt) {
          await this.rollouts.update(tx, r.id, { waveSyncedAt: null });
        }
        return 'waiting';
      }
      const syncedAt = r.waveSyncedAt ?? now;
      if (!r.waveSyncedAt) {
        await this.rollouts.update(tx, r.id, { waveSyncedAt: syncedAt });
      }
      if (now.getTime() - syncedAt.getTime() < r.soakSeconds * 1000) {
        return 'waiting';
      }
      if (r.releasedWaves > last) {
        await this.finish(tx, r, 'COMPLETED', null, { urgent: false, revert: false });
        await this.systemEvent(tx, r, EventType.StagedRolloutCompleted, `Staged rollout ${r.id} completed: every wave is released and in sync`, 'INFO', {});
        return 'completed';
      }
      const index = r.releasedWaves;
      const bumped = await this.generations.bumpRolloutWave(
        tx,
        r.organizationId,
        { rolloutId: r.id, index, last: index === last, reaches: reachesOf(assignment, r) },
        { urgent: r.urgent },
      );
      const released = await this.rollouts.update(tx, r.id, { releasedWaves: index + 1, waveReleasedAt: now, waveSyncedAt: null });
      await this.recordWave(tx, released, waves, index, bumped.length, SYSTEM_ACTOR);
      return 'released';
    });
  }

  async list(principal: Principal, args: StagedRolloutsArgs): Promise<Connection<StagedRolloutModel>> {
    const request = toPageRequest(args, 'CREATED_AT');
    const { rows, total } = await this.rollouts.page(principal.organizationId, { assignmentId: args.assignmentId, state: args.state }, request);
    const models = await Promise.all(rows.map((r) => this.toModel(r)));
    return toConnection(models, request, total, 'CREATED_AT', (m) => m.createdAt);
  }

  async get(principal: Principal, id: string): Promise<StagedRolloutModel> {
    const r = await this.rollouts.find(principal.organizationId, id);
    if (!r) {
      throw FarpointError.notFound('StagedRollout', id);
    }
    return this.toModel(r);
  }

  /** The active rollout of an assignment, when it has one. */
  async active(principal: Principal, assignment: Pick<PolicyAssignment, 'activeRolloutId'>): Promise<StagedRolloutModel | null> {
    if (!assignment.activeRolloutId) {
      return null;
    }
    const r = await this.rollouts.find(principal.organizationId, assignment.activeRolloutId);
    return r ? this.toModel(r) : null;
  }

  /** The assignments a cluster still sees as they were before a rollout (for its desired state). */
  heldRevisions(organizationId: string, clusterId: string): Promise<Map<string, AssignmentRevision | null>> {
    return this.rollouts.heldRevisions(organizationId, clusterId);
  }

  private async toModel(r: StagedRollout): Promise<StagedRolloutModel> {
    const waves = r.waves as unknown as RolloutWave[];
    const assignment = r.assignmentId ? await this.rollouts.assignment(r.assignmentId) : null;
    const counts: WaveStateCounts = assignment ? await this.rollouts.waveCounts(r, waves.length - 1, reachesOf(assignment, r)) : new Map<number, never>();
    return {
      ...r,
      previous: r.previous as unknown as AssignmentRevision | null,
      target: r.target as unknown as AssignmentRevision,
      waves: waves.map((w, index): StagedRolloutWaveModel => {
        const c = counts.get(index);
        const inSync = c?.IN_SYNC ?? 0;
        const pending = (c?.PENDING ?? 0) + (c?.WAITING_FOR_WINDOW ?? 0);
        const failed = c?.FAILED ?? 0;
        const offline = c?.OFFLINE ?? 0;
        return { index, ...w, released: index < r.releasedWaves, clusters: inSync + pending + failed + offline, inSync, pending, failed, offline };
      }),
    };
  }

  private async halt(tx: Tx, r: StagedRollout, reason: string, data: Record<string, unknown>): Promise<AdvanceOutcome> {
    await this.rollouts.update(tx, r.id, { state: 'HALTED', reason });
    await this.systemEvent(tx, r, EventType.StagedRolloutHalted, `Staged rollout ${r.id} halted: ${reason}`, 'WARNING', { reason, releasedWaves: r.releasedWaves, ...data });
    return 'halted';
  }

  /** Ends the rollout and unlocks the assignment; with `revert`, the assignment is put back and every cluster it concerns bumped. */
  private async finish(tx: Tx, r: StagedRollout, state: StagedRolloutState, reason: string | null, options: { urgent: boolean; revert: boolean }): Promise<StagedRollout> {
    const assignment = r.assignmentId ? await this.rollouts.assignment(r.assignmentId, tx) : null;
    const ended = await this.rollouts.update(tx, r.id, { state, reason, finishedAt: this.clock.now() });
    if (!assignment) {
      return ended;
    }
    if (options.revert) {
      const reaches = reachesOf(assignment, r);
      await this.generations.bumpReaches(tx, r.organizationId, reaches, { urgent: options.urgent });
      if (r.previous === null) {
        await this.rollouts.deleteAssignment(tx, assignment.id);
        return ended;
      }
      await this.rollouts.releaseAssignment(tx, assignment.id, r.previous as unknown as AssignmentRevision);
      return ended;
    }
    await this.rollouts.releaseAssignment(tx, assignment.id);
    return ended;
  }

  private async step(
    principal: Principal,
    id: string,
    step: string,
    allowed: StagedRolloutState[],
    work: (tx: Tx, r: StagedRollout) => Promise<StagedRollout>,
  ): Promise<StagedRollout> {
    return this.transactions.run(async (tx) => {
      const r = await this.rollouts.lockIn(tx, principal.organizationId, id);
      if (!r) {
        throw FarpointError.notFound('StagedRollout', id);
      }
      if (!allowed.includes(r.state)) {
        throw E.state(r.id, r.state, step, allowed);
      }
      return work(tx, r);
    });
  }

  private recordWave(tx: Tx, r: StagedRollout, waves: RolloutWave[], index: number, clusters: number, actor: string) {
    return this.events.record(tx, {
      organizationId: r.organizationId,
      objectKind: EventObjectKind.StagedRollout,
      objectId: r.id,
      type: EventType.StagedRolloutWaveReleased,
      message: `Staged rollout ${r.id}: wave ${index + 1} of ${waves.length} (${waves[index].name}) released to ${clusters} clusters`,
      actor,
      data: { assignmentId: r.assignmentId, wave: index, name: waves[index].name, clusters },
    });
  }

  private record(tx: Tx, principal: Principal, r: StagedRollout, type: EventType, message: string, data: Record<string, unknown> = {}) {
    return this.events.recordChange(tx, principal, { kind: EventObjectKind.StagedRollout, id: r.id }, type, message, { assignmentId: r.assignmentId, ...data });
  }

  private systemEvent(tx: Tx, r: StagedRollout, type: EventType, message: string, severity: 'INFO' | 'WARNING', data: Record<string, unknown>) {
    return this.events.record(tx, {
      organizationId: r.organizationId,
      objectKind: EventObjectKind.StagedRollout,
      objectId: r.id,
      type,
      severity,
      message,
      actor: SYSTEM_ACTOR,
      data: { assignmentId: r.assignmentId, ...data },
    });
  }
}
