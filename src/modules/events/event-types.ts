/**
 * Every kind of Event Farpoint records, in one catalogue: recorders name types from here, so a typo
 * cannot invent a type that no filter, subscription or document knows about. Grouped by the object
 * the Event is about.
 */
export const EventType = {
  // Organization and API tokens
  OrganizationCreated: 'OrganizationCreated',
  OrganizationSettingsChanged: 'OrganizationSettingsChanged',
  ApiTokenCreated: 'ApiTokenCreated',
  ApiTokenRevoked: 'ApiTokenRevoked',
  // Inventory
  SiteCreated: 'SiteCreated',
  SiteUpdated: 'SiteUpdated',
  SiteDeleted: 'SiteDeleted',
  ClusterGroupCreated: 'ClusterGroupCreated',
  ClusterGroupUpdated: 'ClusterGroupUpdated',
  ClusterGroupDeleted: 'ClusterGroupDeleted',
  ClusterCreated: 'ClusterCreated',
  ClusterUpdated: 'ClusterUpdated',
  ClusterMoved: 'ClusterMoved',
  ClusterDeleted: 'ClusterDeleted',
  WorkspaceCreated: 'WorkspaceCreated',
  WorkspaceUpdated: 'WorkspaceUpdated',
  WorkspaceDeleted: 'WorkspaceDeleted',
  NamespaceCreated: 'NamespaceCreated',
  NamespaceUpdated: 'NamespaceUpdated',
  NamespaceMoved: 'NamespaceMoved',
  NamespaceDeleted: 'NamespaceDeleted',
  // Attach, status and the agent
  RegistrationTokenIssued: 'RegistrationTokenIssued',
  RegistrationTokenRevoked: 'RegistrationTokenRevoked',
  AgentRegistered: 'AgentRegistered',
  AgentRegistrationRepeatRefused: 'AgentRegistrationRepeatRefused',
  AgentIdentityMismatch: 'AgentIdentityMismatch',
  AgentCredentialRotated: 'AgentCredentialRotated',
  AgentCredentialPredecessorRevoked: 'AgentCredentialPredecessorRevoked',
  /** An expired credential replaced through the renewal key (POST /agent/v1/credentials/renew). */
  AgentCredentialRenewed: 'AgentCredentialRenewed',
  /** A renewal whose signature did not verify with the cluster's renewal key (SECURITY). */
  AgentCredentialRenewalRefused: 'AgentCredentialRenewalRefused',
  AgentVersionChanged: 'AgentVersionChanged',
  CrossClusterReportRefused: 'CrossClusterReportRefused',
  ClusterPhaseChanged: 'ClusterPhaseChanged',
  ClusterHealthChanged: 'ClusterHealthChanged',
  ClusterInventoryChanged: 'ClusterInventoryChanged',
  ClusterDetached: 'ClusterDetached',
  ClusterForceDetached: 'ClusterForceDetached',
  // Policies
  PolicyTemplateCreated: 'PolicyTemplateCreated',
  PolicyTemplateVersionCreated: 'PolicyTemplateVersionCreated',
  PolicyTemplateVersionCompiled: 'PolicyTemplateVersionCompiled',
  PolicyTemplateVersionCompileFailed: 'PolicyTemplateVersionCompileFailed',
  PolicyTemplateVersionPublished: 'PolicyTemplateVersionPublished',
  PolicyTemplateVersionDeprecated: 'PolicyTemplateVersionDeprecated',
  ConstraintCreated: 'ConstraintCreated',
  ConstraintUpdated: 'ConstraintUpdated',
  ConstraintDeleted: 'ConstraintDeleted',
  PolicyAssigned: 'PolicyAssigned',
  PolicyAssignmentUpdated: 'PolicyAssignmentUpdated',
  PolicyUnassigned: 'PolicyUnassigned',
  /** An agent's admission.summary: the webhook's refusals, warnings and dry-run refusals of one window (on the Cluster). */
  PolicyAdmissionSummary: 'PolicyAdmissionSummary',
  // Staged rollouts of an assignment change (on the StagedRollout)
  StagedRolloutStarted: 'StagedRolloutStarted',
  StagedRolloutWaveReleased: 'StagedRolloutWaveReleased',
  /** Failed applies or admission refusals in the released waves passed a threshold (WARNING). */
  StagedRolloutHalted: 'StagedRolloutHalted',
  StagedRolloutPaused: 'StagedRolloutPaused',
  StagedRolloutResumed: 'StagedRolloutResumed',
  StagedRolloutAborted: 'StagedRolloutAborted',
  StagedRolloutCompleted: 'StagedRolloutCompleted',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The kinds of object an Event can be about (Event.objectKind). */
export const EventObjectKind = {
  Organization: 'Organization',
  ApiToken: 'ApiToken',
  Site: 'Site',
  ClusterGroup: 'ClusterGroup',
  Cluster: 'Cluster',
  Workspace: 'Workspace',
  Namespace: 'Namespace',
  ClusterOperation: 'ClusterOperation',
  PolicyTemplate: 'PolicyTemplate',
  PolicyTemplateVersion: 'PolicyTemplateVersion',
  Constraint: 'Constraint',
  PolicyAssignment: 'PolicyAssignment',
  StagedRollout: 'StagedRollout',
} as const;
export type EventObjectKind = (typeof EventObjectKind)[keyof typeof EventObjectKind];
