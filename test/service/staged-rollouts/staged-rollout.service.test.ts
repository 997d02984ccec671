// Staged rollouts through the service tier on the real Postgres: a change of an assignment released
// wave by wave (only the released clusters' generations bump, the others keep the assignment as it was
// in their desired state), advanced by the job's step when the released waves are in sync, halted by
// failed applies or admission refusals, paused, resumed and aborted; refusals write nothing.
import { ErrorCode, type FarpointError } from '../../../src/common/errors/farpoint-error';
import { Clock } from '../../../src/common/time/clock';
import type { Cluster, Constraint, PolicyAssignment } from '../../../src/generated/prisma/client';
import { QueueGateway } from '../../../src/infra/queue/queue.gateway';
import { AssignmentRepository } from '../../../src/modules/assignments/assignment.repository';
import { AssignmentService } from '../../../src/modules/assignments/assignment.service';
import { ConstraintRepository } from '../../../src/modules/constraints/constraint.repository';
import { DesiredStateRepository } from '../../../src/modules/desired-state/desired-state.repository';
import { DesiredStateService } from '../../../src/modules/desired-state/desired-state.service';
import { GenerationRepository } from '../../../src/modules/desired-state/generation.repository';
import { PolicyTemplateRepository } from '../../../src/modules/policy-templates/policy-template.repository';
import type { StagedRolloutInput } from '../../../src/modules/staged-rollouts/staged-rollout.model';
import { StagedRolloutRepository } from '../../../src/modules/staged-rollouts/staged-rollout.repository';
import { StagedRolloutService } from '../../../src/modules/staged-rollouts/staged-rollout.service';
import { TestData, type TestOrganization } from '../support/factories';
import { RecordingQueue } from '../support/fakes';
import { refusal } from '../support/refusal';
import { createServiceModule, type ServiceModule } from '../support/service-module';

let svc: ServiceModule;
let data: TestData;
let assignments: AssignmentService;
let rollouts: StagedRolloutService;
let desired: DesiredStateService;
const clock = { at: new Date('2026-12-02T12:00:00Z'), now: () => clock.at };

beforeAll(async () => {
  svc = await createServiceModule({
    providers: [
      AssignmentService,
      AssignmentRepository,
      ConstraintRepository,
      PolicyTemplateRepository,
      GenerationRepository,
      DesiredStateService,
      DesiredStateRepository,
      StagedRolloutService,
      StagedRolloutRepository,
    ],
    fakes: [
      { provide: QueueGateway, useValue: new RecordingQueue() },
      { provide: Clock, useValue: clock },
    ],
  });
  data = new TestData(svc.prisma);
  assignments = svc.get(AssignmentService);
  rollouts = svc.get(StagedRolloutService);
  desired = svc.get(DesiredStateService);
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

interface Fleet {
  org: TestOrganization;
  /** labels canary=true. */
  canary: Cluster;
  /** Nine more, no labels. */
  others: Cluster[];
  all: Cluster[];
  constraint: Constraint;
  /** DRYRUN at the organization: the change under test makes it DENY. */
  assignment: PolicyAssignment;
}

async function fleet(): Promise<Fleet> {
  const org = await data.organization();
  const group = await data.group(org);
  const online = () => data.cluster(org).in(group).phase('READY').health('HEALTHY');
  const canary = await online()
    .with({ labels: { canary: 'true' } })
    .create();
  const others: Cluster[] = [];
  for (let i = 0; i < 9; i++) {
    others.push(await online().create());
  }
  const { constraint } = await data.compiledConstraint(org, 'DENY');
  const assignment = await assignments.assign(org.principal, { constraintId: constraint.id, scope: 'ORGANIZATION', scopeId: org.id, enforcementAction: 'DRYRUN' });
  const all = [canary, ...others];
  await acknowledge(all);
  return { org, canary, others, all, constraint, assignment };
}

const CANARY_THEN_HALF: StagedRolloutInput = {
  waves: [
    { name: 'canary', clusterSelector: 'canary=true' },
    { name: 'half', percent: 50 },
  ],
};

/** What each agent would report in a heartbeat: it runs the desired generation. */
async function acknowledge(clusters: Cluster[]): Promise<void> {
  await svc.prisma
    .$executeRaw`UPDATE "Cluster" SET "appliedDesiredStateGeneration" = "desiredStateGeneration", "desiredStateError" = NULL WHERE "id" = ANY(${clusters.map((c) => c.id)}::uuid[])`;
}

async function generations(clusters: Cluster[]): Promise<number[]> {
  return Promise.all(clusters.map(async (c) => (await data.reload(c)).desiredStateGeneration));
}

/** The action each cluster's desired state gives the constraint ('-' when it is not there). */
async function actions(clusters: Cluster[], constraint: Constraint): Promise<string[]> {
  return Promise.all(
    clusters.map(async (c) => {
      const state = await desired.compute(c.id);
      return state.constraints.find((k) => k.name === constraint.name)?.enforcementAction ?? '-';
    }),
  );
}

async function startDenyRollout(f: Fleet, input: StagedRolloutInput = CANARY_THEN_HALF) {
  const updated = await assignments.update(f.org.principal, f.assignment.id, { enforcementAction: 'DENY', rollout: input });
  expect(updated.activeRolloutId).toEqual(expect.any(String));
  return updated.activeRolloutId!;
}

describe('staged rollout of an assignment change', () => {
  it('releases wave by wave as the released clusters get in sync, then completes and unlocks the assignment', async () => {
    const f = await fleet();
    const before = await generations(f.all);
    const id = await startDenyRollout(f);

    // Only the canary is bumped and sees DENY; the others keep DRYRUN.
    const afterStart = await generations(f.all);
    expect(afterStart.map((g, i) => g - before[i])).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await actions(f.all, f.constraint)).toEqual(['deny', ...Array(9).fill('dryrun')]);

    let view = await rollouts.get(f.org.principal, id);
    expect(view.state).toBe('RUNNING');
    expect(view.waves.map((w) => [w.name, w.clusters, w.released, w.pending])).toEqual([
      ['canary', 1, true, 1],
      ['half', 4, false, 0],
      ['rest', 5, false, 0],
    ]);

    // The canary has not applied it yet: the job waits.
    expect(await rollouts.advance(id)).toBe('waiting');
    await acknowledge([f.canary]);
    expect(await rollouts.advance(id)).toBe('released');
    view = await rollouts.get(f.org.principal, id);
    expect(view.releasedWaves).toBe(2);
    const denied = (await actions(f.all, f.constraint)).filter((a) => a === 'deny');
    expect(denied).toHaveLength(5);

    await acknowledge(f.all);
    expect(await rollouts.advance(id)).toBe('released');
    expect(await actions(f.all, f.constraint)).toEqual(Array(10).fill('deny'));
    await acknowledge(f.all);
    expect(await rollouts.advance(id)).toBe('completed');

    view = await rollouts.get(f.org.principal, id);
    expect(view.state).toBe('COMPLETED');
    expect(view.finishedAt).not.toBeNull();
    expect((await svc.prisma.policyAssignment.findUniqueOrThrow({ where: { id: f.assignment.id } })).activeRolloutId).toBeNull();
    expect((await data.eventsOf(id)).map((e) => e.type)).toEqual([
      'StagedRolloutStarted',
      'StagedRolloutWaveReleased',
      'StagedRolloutWaveReleased',
      'StagedRolloutWaveReleased',
      'StagedRolloutCompleted',
    ]);
    // Each cluster was bumped exactly once by the rollout.
    expect((await generations(f.all)).map((g, i) => g - before[i])).toEqual(Array(10).fill(1));
    // The assignment can be changed again.
    await assignments.update(f.org.principal, f.assignment.id, { namespaceSelector: 'team=a' });
  });

  it('does not let offline clusters hold a wave back, and keeps a cluster that joined later until the last wave', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f, { waves: [{ name: 'canary', clusterSelector: 'canary=true' }] });
    await svc.prisma.cluster.update({ where: { id: f.canary.id }, data: { health: 'DISCONNECTED' } });
    const late = await data
      .cluster(f.org)
      .in(await data.group(f.org))
      .phase('READY')
      .health('HEALTHY')
      .create();
    expect(await actions([late], f.constraint)).toEqual(['dryrun']);

    expect(await rollouts.advance(id)).toBe('released');
    expect(await actions([late], f.constraint)).toEqual(['deny']);
    const view = await rollouts.get(f.org.principal, id);
    expect(view.waves.find((w) => w.name === 'rest')?.clusters).toBe(10);
  });

  it('waits soakSeconds after the released waves are in sync before the next wave', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f, { ...CANARY_THEN_HALF, soakSeconds: 60 });
    await acknowledge([f.canary]);
    expect(await rollouts.advance(id)).toBe('waiting');
    clock.at = new Date(clock.at.getTime() + 59_000);
    expect(await rollouts.advance(id)).toBe('waiting');
    clock.at = new Date(clock.at.getTime() + 2_000);
    expect(await rollouts.advance(id)).toBe('released');
  });

  it('halts when more released clusters fail to apply than allowed, and halts again after a resume while they still fail', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f, { ...CANARY_THEN_HALF, maxFailedClusters: 0 });
    await svc.prisma.cluster.update({ where: { id: f.canary.id }, data: { desiredStateError: { code: 'BUNDLE_HASH_MISMATCH', message: 'bad bundle' } } });

    expect(await rollouts.advance(id)).toBe('halted');
    let view = await rollouts.get(f.org.principal, id);
    expect(view.state).toBe('HALTED');
    expect(view.reason).toMatch(/1 clusters .* failed/);
    expect(view.releasedWaves).toBe(1);
    const halted = (await data.eventsOf(id)).find((e) => e.type === 'StagedRolloutHalted');
    expect(halted?.severity).toBe('WARNING');
    // A halted rollout is not stepped.
    expect(await rollouts.advance(id)).toBe('skipped');

    await rollouts.resume(f.org.principal, id);
    expect(await rollouts.advance(id)).toBe('halted');
    await rollouts.resume(f.org.principal, id);
    await acknowledge([f.canary]);
    expect(await rollouts.advance(id)).toBe('released');
    view = await rollouts.get(f.org.principal, id);
    expect(view.state).toBe('RUNNING');
  });

  it('halts on admission refusals under the assignment in released waves since the start', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f, { ...CANARY_THEN_HALF, maxAdmissionRefusals: 5 });
    const summary = (cluster: Cluster, assignmentId: string, count: number, at = clock.at) =>
      svc.prisma.event.create({
        data: {
          organizationId: f.org.id,
          objectKind: 'Cluster',
          objectId: cluster.id,
          type: 'PolicyAdmissionSummary',
          message: 'summary',
          actor: 'agent:x',
          occurredAt: at,
          data: { entries: [{ assignmentId, constraint: f.constraint.name, action: 'DENY', namespace: 'shop', kind: 'Pod', count, samples: [] }] },
        },
      });
    // Before the start, on an unreleased cluster, or under another assignment: not counted.
    await summary(f.canary, f.assignment.id, 100, new Date(clock.at.getTime() - 60_000));
    await summary(f.others[0], f.assignment.id, 100);
    await summary(f.canary, '00000000-0000-4000-8000-000000000000', 100);
    await summary(f.canary, f.assignment.id, 5);
    expect(await rollouts.advance(id)).toBe('waiting');
    await summary(f.canary, f.assignment.id, 1);
    expect(await rollouts.advance(id)).toBe('halted');
    expect((await rollouts.get(f.org.principal, id)).reason).toMatch(/refused 6 admission requests/);
  });

  it('pauses and resumes: a paused rollout releases nothing', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f);
    await acknowledge([f.canary]);
    await rollouts.pause(f.org.principal, id);
    expect(await rollouts.advance(id)).toBe('skipped');
    expect((await rollouts.get(f.org.principal, id)).releasedWaves).toBe(1);
    await rollouts.resume(f.org.principal, id);
    expect(await rollouts.advance(id)).toBe('released');
    expect((await data.eventsOf(id)).map((e) => e.type)).toEqual(expect.arrayContaining(['StagedRolloutPaused', 'StagedRolloutResumed']));
  });

  it('aborts: the assignment goes back as it was on every cluster, urgently by default', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f);
    await acknowledge([f.canary]);
    await rollouts.advance(id);
    const before = await generations(f.all);
    await rollouts.abort(f.org.principal, id, true, 'canary stores cannot deploy');

    const assignment = await svc.prisma.policyAssignment.findUniqueOrThrow({ where: { id: f.assignment.id } });
    expect(assignment.enforcementAction).toBe('DRYRUN');
    expect(assignment.activeRolloutId).toBeNull();
    expect(await actions(f.all, f.constraint)).toEqual(Array(10).fill('dryrun'));
    const after = await svc.prisma.cluster.findMany({ where: { id: { in: f.all.map((c) => c.id) } } });
    expect(after.every((c) => c.urgentDesiredStateGeneration === c.desiredStateGeneration)).toBe(true);
    expect((await generations(f.all)).map((g, i) => g - before[i])).toEqual(Array(10).fill(1));
    const view = await rollouts.get(f.org.principal, id);
    expect([view.state, view.reason]).toEqual(['ABORTED', 'canary stores cannot deploy']);
    expect((await refusal(rollouts.resume(f.org.principal, id))).code).toBe(ErrorCode.STAGED_ROLLOUT_STATE);
  });

  it('rolls a new assignment out in waves too; aborting it removes the assignment', async () => {
    const f = await fleet();
    const { constraint } = await data.compiledConstraint(f.org, 'WARN');
    const created = await assignments.assign(f.org.principal, {
      constraintId: constraint.id,
      scope: 'ORGANIZATION',
      scopeId: f.org.id,
      rollout: { waves: [{ name: 'canary', clusterSelector: 'canary=true' }] },
    });
    expect(await actions(f.all, constraint)).toEqual(['warn', ...Array(9).fill('-')]);
    await rollouts.abort(f.org.principal, created.activeRolloutId!, false);
    expect(await svc.prisma.policyAssignment.findUnique({ where: { id: created.id } })).toBeNull();
    expect(await actions(f.all, constraint)).toEqual(Array(10).fill('-'));
    expect((await rollouts.get(f.org.principal, created.activeRolloutId!)).assignmentId).toBeNull();
  });

  it('ends a rollout whose assignment was deleted with its constraint', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f);
    await svc.prisma.constraint.delete({ where: { id: f.constraint.id } });
    expect(await rollouts.advance(id)).toBe('aborted');
    expect((await rollouts.get(f.org.principal, id)).reason).toMatch(/deleted/);
  });
});

describe('staged rollout refusals', () => {
  it('refuses changing or unassigning an assignment under an active rollout, naming the rollout', async () => {
    const f = await fleet();
    const id = await startDenyRollout(f);
    for (const call of [assignments.update(f.org.principal, f.assignment.id, { labelSelector: 'x=y' }), assignments.unassign(f.org.principal, f.assignment.id)]) {
      const error = await refusal(call);
      expect([error.code, error.details.rolloutId]).toEqual([ErrorCode.STAGED_ROLLOUT_IN_PROGRESS, id]);
    }
  });

  it('lets only one of two concurrent rollouts of the same assignment start', async () => {
    const f = await fleet();
    const results = await Promise.allSettled([
      assignments.update(f.org.principal, f.assignment.id, { enforcementAction: 'DENY', rollout: CANARY_THEN_HALF }),
      assignments.update(f.org.principal, f.assignment.id, { enforcementAction: 'WARN', rollout: CANARY_THEN_HALF }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect((rejected?.reason as FarpointError).code).toBe(ErrorCode.STAGED_ROLLOUT_IN_PROGRESS);
    expect(await svc.prisma.stagedRollout.count({ where: { organizationId: f.org.id } })).toBe(1);
  });

  it('refuses bad waves and thresholds with BAD_USER_INPUT and writes nothing', async () => {
    const f = await fleet();
    const before = await generations(f.all);
    const bad: StagedRolloutInput[] = [
      { waves: [] },
      { waves: [{ name: 'a', clusterSelector: 'canary in (' }] },
      { waves: [{ name: 'a', percent: 0 }] },
      { waves: [{ name: 'a', percent: 10 }], maxFailedClusters: -1 },
      { waves: [{ name: 'a', percent: 10 }], soakSeconds: 86_401 },
      { waves: [{ name: 'a', percent: 10 }], maxAdmissionRefusals: 1.5 },
    ];
    for (const rollout of bad) {
      expect((await refusal(assignments.update(f.org.principal, f.assignment.id, { enforcementAction: 'DENY', rollout }))).code).toBe(ErrorCode.BAD_USER_INPUT);
    }
    expect(await svc.prisma.stagedRollout.count({ where: { organizationId: f.org.id } })).toBe(0);
    const assignment = await svc.prisma.policyAssignment.findUniqueOrThrow({ where: { id: f.assignment.id } });
    expect([assignment.enforcementAction, assignment.activeRolloutId]).toEqual(['DRYRUN', null]);
    expect(await generations(f.all)).toEqual(before);
  });

  it("answers NOT_FOUND for another organization's rollout, and STAGED_ROLLOUT_STATE for a step its state does not allow", async () => {
    const f = await fleet();
    const other = await data.organization();
    const id = await startDenyRollout(f);
    for (const call of [
      rollouts.get(other.principal, id),
      rollouts.pause(other.principal, id),
      rollouts.resume(other.principal, id),
      rollouts.abort(other.principal, id, true),
      rollouts.get(f.org.principal, 'not-a-uuid'),
    ]) {
      expect((await refusal(call)).code).toBe(ErrorCode.NOT_FOUND);
    }
    const state = await refusal(rollouts.resume(f.org.principal, id));
    expect([state.code, state.details.state]).toEqual([ErrorCode.STAGED_ROLLOUT_STATE, 'RUNNING']);
    expect((await rollouts.get(f.org.principal, id)).state).toBe('RUNNING');
  });
});
