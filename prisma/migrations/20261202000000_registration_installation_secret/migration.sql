-- AlterTable
ALTER TABLE "RegistrationToken" ADD COLUMN     "installationSecretHash" TEXT;

-- The kube-system namespace UID, with a leaked registration token, was enough to repeat an agent's
-- registration, and VIEWERs read Events: remove it from the Events written before this migration
-- (the only two types that carried it). Redaction is the one exception to Events being append-only.
UPDATE "Event"
SET "message" = regexp_replace("message", ' \(kube-system UID [^)]*\)', ''),
    "data" = "data" - 'kubeSystemUid'
WHERE "type" = 'AgentRegistered';

UPDATE "Event"
SET "message" = regexp_replace(regexp_replace("message", '\(kube-system UID [^)]*\)', '(a different kube-system namespace UID)'), ', which was attached from kube-system UID [0-9A-Za-z-]*', ''),
    "data" = "data" - 'expectedKubeSystemUid' - 'presentedKubeSystemUid',
    "actor" = 'agent:unverified'
WHERE "type" = 'AgentIdentityMismatch';
