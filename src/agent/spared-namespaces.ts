/** Namespaces the agent never decides for or audits, whatever the webhook configuration says: a broken agent must not lock the cluster. */
export const SPARED_NAMESPACES: readonly string[] = ['farpoint-system', 'kube-system'];
