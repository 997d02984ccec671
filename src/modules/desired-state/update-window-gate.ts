import { maintenanceWindowAt, type MaintenanceWindow } from '../sites/maintenance-windows';

export interface GateInput {
  /** The generation the agent says it runs (undefined: none). */
  running: number | undefined;
  /** The cluster's current desiredStateGeneration. */
  desired: number;
  /** The newest generation a change marked urgent bumped (null: none). */
  urgent: number | null;
  /** The site's maintenance windows ([] or no site: always open). */
  windows: MaintenanceWindow[];
  now: Date;
}

export type GateDecision = { serve: 'desired' } | { serve: 'running'; nextWindowStart: Date | null };

/**
 * Which generation a cluster may be given now. The newest one, unless the agent already runs one and
 * its site is outside every maintenance window and no urgent change is pending since what it runs:
 * then it keeps the one it runs (answered as unchanged), and enforcement of it simply continues. An
 * agent that runs nothing gets the current state at once: there is nothing to keep. The state is
 * computed from the assignments as they are now, so an urgent change brings the non-urgent changes
 * before it along.
 */
export function generationToServe(input: GateInput): GateDecision {
  const { running, desired, urgent } = input;
  if (running === undefined || running >= desired || (urgent !== null && urgent > running)) {
    return { serve: 'desired' };
  }
  const at = maintenanceWindowAt(input.windows, input.now);
  return at.open ? { serve: 'desired' } : { serve: 'running', nextWindowStart: at.nextStart };
}
