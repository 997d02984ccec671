// Gatekeeper ConstraintTemplates and Constraints of several shapes, as teams bring them, for the
// policy integration tests.

/** templates.gatekeeper.sh/v1beta1, `rego` in the target, Rego v0, a parameters schema, a set printed with %v. */
export const REQUIRED_LABELS = `apiVersion: templates.gatekeeper.sh/v1beta1
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
  annotations:
    metadata.gatekeeper.sh/title: Required Labels
    description: Requires the listed labels on every object.
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredLabels
      validation:
        legacySchema: false
        openAPIV3Schema:
          type: object
          properties:
            labels:
              type: array
              items:
                type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequiredlabels

        violation[{"msg": msg, "details": {"missing_labels": missing}}] {
          provided := {label | input.review.object.metadata.labels[label]}
          required := {label | label := input.parameters.labels[_]}
          missing := required - provided
          count(missing) > 0
          msg := sprintf("you must provide labels: %v", [missing])
        }
`;

/** templates.gatekeeper.sh/v1 with code: a CEL engine beside Rego v1 with a lib. */
export const NO_LATEST = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8snolatest
spec:
  crd:
    spec:
      names:
        kind: K8sNoLatest
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source:
            validations:
              - expression: "true"
        - engine: Rego
          source:
            version: v1
            rego: |
              package k8snolatest

              import data.lib.images

              violation contains {"msg": msg} if {
                some c in input.review.object.spec.containers
                images.latest(c.image)
                msg := sprintf("container %s uses the latest tag (%s)", [c.name, c.image])
              }
            libs:
              - |
                package lib.images

                latest(image) if endswith(image, ":latest")

                latest(image) if not contains(image, ":")
`;

/** Referential (data.inventory, Gatekeeper's layout), v1beta1, Rego v0. */
export const UNIQUE_INGRESS_HOST = `apiVersion: templates.gatekeeper.sh/v1beta1
kind: ConstraintTemplate
metadata:
  name: k8suniqueingresshost
spec:
  crd:
    spec:
      names:
        kind: K8sUniqueIngressHost
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8suniqueingresshost

        identical(obj, review) {
          obj.metadata.namespace == review.object.metadata.namespace
          obj.metadata.name == review.object.metadata.name
        }

        violation[{"msg": msg}] {
          host := input.review.object.spec.rules[_].host
          other := data.inventory.namespace[_][apiversion]["Ingress"][_]
          re_match("^(extensions|networking.k8s.io)/.+$", apiversion)
          other.spec.rules[_].host == host
          not identical(other, input.review)
          msg := sprintf("ingress host conflicts with an existing ingress <%v>", [host])
        }
`;

export const template = (kind: string, rego: string, extra = '') => `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: ${kind.toLowerCase()}
spec:
  crd:
    spec:
      names:
        kind: ${kind}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
${rego
  .split('\n')
  .map((l) => (l ? `        ${l}` : ''))
  .join('\n')}
${extra}`;

export const pod = (name: string, labels: Record<string, string>, images: string[] = ['nginx:1.27']) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels },
  spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
});

export const ingress = (name: string, namespace: string, host: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace },
  spec: { rules: [{ host }] },
});
