import type { z } from 'zod';
import { AgentStateVolumeSchema } from '../../agent-install';
import { FarpointError } from '../../common/errors/farpoint-error';
import type { AgentStateVolumeInput } from './attach.model';

type AgentStateVolume = z.infer<typeof AgentStateVolumeSchema>;

/** The GraphQL choice as the manifests take it; BAD_USER_INPUT on `agentStateVolume` (with `path`) otherwise. */
export function parseAgentStateVolume(input: AgentStateVolumeInput | null | undefined): AgentStateVolume | null {
  if (!input) {
    return null;
  }
  const refuse = (message: string, path: string) => new FarpointError('BAD_USER_INPUT', message, { field: 'agentStateVolume', path: `agentStateVolume.${path}` });
  let candidate: { type: string } & Record<string, unknown>;
  let prefix: string;
  if (input.hostPath) {
    candidate = { type: 'hostPath', ...(input.hostPath.path != null ? { path: input.hostPath.path } : {}) };
    prefix = 'hostPath';
  } else if (input.persistentVolumeClaim) {
    const claim = input.persistentVolumeClaim;
    candidate = {
      type: 'persistentVolumeClaim',
      ...(claim.storageClassName != null ? { storageClassName: claim.storageClassName } : {}),
      ...(claim.size != null ? { size: claim.size } : {}),
    };
    prefix = 'persistentVolumeClaim';
  } else if (input.emptyDir === true) {
    candidate = { type: 'emptyDir' };
    prefix = 'emptyDir';
  } else {
    // @oneOf guarantees one field; emptyDir: false chooses nothing.
    throw refuse('Choose one of hostPath, persistentVolumeClaim or emptyDir: true.', 'emptyDir');
  }
  const parsed = AgentStateVolumeSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.map(String).filter((p) => p !== 'type');
    throw refuse(`agentStateVolume.${[prefix, ...key].join('.')}: ${issue.message}.`, [prefix, ...key].join('.'));
  }
  return parsed.data;
}

/** What was stored at attach (validated then); null or unreadable: the manifests' default. */
export function storedAgentStateVolume(value: unknown): AgentStateVolume | undefined {
  if (value === null || value === undefined) {
    return undefined;
  }
  const parsed = AgentStateVolumeSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
