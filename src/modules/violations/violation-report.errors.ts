import { AgentErrorCode, AgentProtocolError } from '../../protocol';

/** Refusals of policy report items; the whole batch is refused and nothing of it is stored. */
export const ViolationReportErrors = {
  assignmentRefused: (assignmentId: string, seq: number) =>
    new AgentProtocolError(
      AgentErrorCode.REPORT_ASSIGNMENT_REFUSED,
      `Report item ${seq} names policy assignment ${assignmentId}, which does not apply to this cluster (unknown, of another organization, or not reaching this cluster).`,
      { assignmentId, seq },
    ),
  objectOfAnotherCluster: (uids: string[], seq: number) =>
    new AgentProtocolError(AgentErrorCode.REPORT_OBJECT_OF_ANOTHER_CLUSTER, `Report item ${seq} names objects that Farpoint knows on another cluster (uid ${uids.join(', ')}).`, {
      uids,
      seq,
    }),
};
