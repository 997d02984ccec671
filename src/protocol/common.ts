import { z } from 'zod';
import { AgentProtocolLimits as L } from './limits';

/**
 * Field descriptions for the OpenAPI document, kept beside the schemas they describe. Pass a fresh
 * schema instance: a description attaches to the instance, so a shared one would be described everywhere.
 */
export const PROTOCOL_FIELD_DOCS = new Map<z.ZodType, string>();
export function documented<T extends z.ZodType>(schema: T, description: string): T {
  PROTOCOL_FIELD_DOCS.set(schema, description);
  return schema;
}

/** RFC 3339 timestamp with `Z` or an offset, e.g. 2026-11-26T10:00:00.000Z. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/** Farpoint's id of a cluster (the API's Cluster.id, a UUID). */
export const ClusterIdSchema = z.uuid();

/** UID of the cluster's kube-system namespace: the cluster identity that survives agent reinstalls. */
export const KubernetesUidSchema = z.guid();

/** Version of the agent build, e.g. 1.4.0 or 1.4.0-rc.1+abc123. Also used as a label value. */
export const AgentVersionSchema = z
  .string()
  .min(1)
  .max(L.maxVersionLength)
  .regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/, 'must be a version such as 1.4.0 or 1.4.0-rc.1');

/**
 * One-time registration token from attachCluster. It appears in a URL path, so it is limited to
 * URL-safe characters.
 */
export const RegistrationTokenSchema = z
  .string()
  .min(L.minSecretLength)
  .max(L.maxSecretLength)
  .regex(/^[A-Za-z0-9_-]+$/, 'must contain only letters, digits, "_" and "-"');

/** Per-cluster bearer credential. Opaque to the agent; sent as `Authorization: Bearer <credential>`. */
export const CredentialSchema = z
  .string()
  .min(L.minSecretLength)
  .max(L.maxSecretLength)
  .regex(/^[A-Za-z0-9._~+/=-]+$/, 'must be an RFC 6750 bearer token (letters, digits, "-._~+/=")');

export const CountSchema = z.number().int().min(0);
export const count = (description: string) => documented(z.number().int().min(0), description);

export const LabelsSchema = z
  .record(z.string().min(1).max(L.maxLabelKeyLength), z.string().max(L.maxLabelValueLength))
  .refine((labels) => Object.keys(labels).length <= L.maxLabelsPerObject, {
    message: `must have at most ${L.maxLabelsPerObject} labels`,
  });
export type Labels = z.infer<typeof LabelsSchema>;

export const NodeNameSchema = z.string().min(1).max(L.maxNameLength);
export const NamespaceNameSchema = z.string().min(1).max(L.maxNamespaceNameLength);
export const ObjectNameSchema = z.string().min(1).max(L.maxNameLength);
