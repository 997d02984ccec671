package lib.farpoint.workloads

# Shared by the pod recipes; each template embeds this file verbatim in its code[0].source.libs
# (Gatekeeper gives every template its own copy) and CI checks that the copies match.

controllers := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

# The pod spec of a Pod or of a workload controller's pod template; undefined for other kinds.
pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_spec(obj) := obj.spec.template.spec if obj.kind in controllers

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

# Every container of the pod spec: containers, initContainers and ephemeralContainers (names are
# unique across the three, so a name identifies a container).
containers(spec) := [c |
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in object.get(spec, field, [])
]

# "Deployment <shop>" for messages; generateName when the name is not known yet.
display_name(obj) := sprintf("%s <%s>", [obj.kind, object_name(obj)])

object_name(obj) := obj.metadata.name if obj.metadata.name != ""
else := obj.metadata.generateName if obj.metadata.generateName != ""
else := "<unnamed>"

# Image references as Docker reads them: [registry/]path[:tag][@digest], registry docker.io when
# the first path segment is not a host (no "." or ":" and not "localhost").
image_digest(image) := substring(image, indexof(image, "@") + 1, -1) if contains(image, "@")

image_name(image) := split(image, "@")[0]

image_tag(image) := tag if {
	segments := split(image_name(image), "/")
	last := segments[count(segments) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}

image_registry(image) := segments[0] if {
	segments := split(image_name(image), "/")
	count(segments) > 1
	is_host(segments[0])
} else := "docker.io"

# registry/path without tag and digest, e.g. "docker.io/nginx", "harbor.example.com/shop/web".
image_repository(image) := concat("/", [image_registry(image), path]) if {
	segments := path_segments(image)
	last := split(segments[count(segments) - 1], ":")[0]
	path := concat("/", array.concat(array.slice(segments, 0, count(segments) - 1), [last]))
}

# The path of the image name after its registry host, tag still attached.
path_segments(image) := array.slice(segments, 1, count(segments)) if {
	segments := split(image_name(image), "/")
	count(segments) > 1
	is_host(segments[0])
} else := split(image_name(image), "/")

is_host(segment) if contains(segment, ".")

is_host(segment) if contains(segment, ":")

is_host(segment) if segment == "localhost"
