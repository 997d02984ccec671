import { FarpointError } from '../../common/errors/farpoint-error';
import { type ConnectivityMode } from '../../generated/prisma/enums';

/**
 * Defaults per connectivity profile. An always-on site is DISCONNECTED after three missed 20 s
 * heartbeats; an intermittent one (LTE backup, satellite) only after six hours of silence; a
 * scheduled one (uplink in a nightly window) after a day.
 */
const CONNECTIVITY_DEFAULTS: Record<ConnectivityMode, { heartbeatIntervalSeconds: number; disconnectGraceSeconds: number }> = {
  ALWAYS_ON: { heartbeatIntervalSeconds: 20, disconnectGraceSeconds: 60 },
  INTERMITTENT: { heartbeatIntervalSeconds: 300, disconnectGraceSeconds: 6 * 3600 },
  SCHEDULED: { heartbeatIntervalSeconds: 900, disconnectGraceSeconds: 24 * 3600 },
};

export function resolveConnectivity(input: { mode: ConnectivityMode; heartbeatIntervalSeconds?: number | null; disconnectGraceSeconds?: number | null }) {
  const defaults = CONNECTIVITY_DEFAULTS[input.mode];
  const heartbeat = input.heartbeatIntervalSeconds ?? defaults.heartbeatIntervalSeconds;
  const grace = input.disconnectGraceSeconds ?? Math.max(defaults.disconnectGraceSeconds, heartbeat * 3);
  if (!Number.isInteger(heartbeat) || heartbeat < 5 || heartbeat > 86_400) {
    throw FarpointError.badInput('heartbeatIntervalSeconds must be between 5 and 86400.', 'connectivity.heartbeatIntervalSeconds');
  }
  if (!Number.isInteger(grace) || grace < heartbeat * 2 || grace > 30 * 86_400) {
    throw FarpointError.badInput(`disconnectGraceSeconds must be at least two heartbeats (${heartbeat * 2}) and at most 30 days.`, 'connectivity.disconnectGraceSeconds');
  }
  return { connectivity: input.mode, heartbeatIntervalSeconds: heartbeat, disconnectGraceSeconds: grace };
}
