/** Version of this agent build; the image sets FARPOINT_AGENT_VERSION (Dockerfile.agent). */
export const DEFAULT_AGENT_VERSION = '0.1.0-dev';
