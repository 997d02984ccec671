package farpoint.recipes.podsecurityrestricted_test

import data.farpoint.recipes.podsecurityrestricted.violation

hardened := {
	"runAsNonRoot": true,
	"allowPrivilegeEscalation": false,
	"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
	"seccompProfile": {"type": "RuntimeDefault"},
}

container(name, context) := {"name": name, "image": "web:1", "securityContext": context}

pod(spec) := {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}, "spec": spec}}}

messages(spec) := msgs if {
	msgs := {v.msg | some v in violation} with input as pod(spec)
}

test_hardened_containers_pass if {
	count(violation) == 0 with input as pod({"containers": [container("app", hardened)], "initContainers": [container("init", hardened)]})
}

test_pod_level_run_as_non_root_and_seccomp_cover_containers if {
	context := object.remove(hardened, ["runAsNonRoot", "seccompProfile"])
	spec := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/web.json"}}, "containers": [container("app", context)]}
	count(violation) == 0 with input as pod(spec)
}

test_unset_controls_are_each_named if {
	messages({"containers": [{"name": "app", "image": "web:1"}]}) == {
		"container <app> must set securityContext.runAsNonRoot: true (or the pod must)",
		"container <app> must drop capability ALL (securityContext.capabilities.drop)",
		"container <app> must set securityContext.allowPrivilegeEscalation: false",
		"container <app> has no seccomp profile; set securityContext.seccompProfile.type to RuntimeDefault or Localhost on the pod or the container",
	}
}

test_explicit_false_run_as_non_root_is_refused_at_either_level if {
	messages({"securityContext": {"runAsNonRoot": false}, "containers": [container("app", hardened)]}) == {"Pod <web> sets securityContext.runAsNonRoot: false"}
	messages({"securityContext": {"runAsNonRoot": true}, "containers": [container("app", object.union(hardened, {"runAsNonRoot": false}))]}) == {"container <app> sets securityContext.runAsNonRoot: false"}
}

test_pod_false_with_container_true_is_still_refused_for_the_pod if {
	count(violation) == 1 with input as pod({"securityContext": {"runAsNonRoot": false}, "containers": [container("app", hardened)]})
}

test_added_capabilities_other_than_net_bind_service_are_refused if {
	context := object.union(hardened, {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "NET_RAW"]}})
	violation == {{
		"msg": "container <app> adds capability <NET_RAW>; only NET_BIND_SERVICE may be added",
		"details": {"control": "capabilities", "container": "app", "capability": "NET_RAW"},
	}} with input as pod({"containers": [container("app", context)]})
}

test_privilege_escalation_true_is_refused if {
	messages({"containers": [container("app", object.union(hardened, {"allowPrivilegeEscalation": true}))]}) == {"container <app> must set securityContext.allowPrivilegeEscalation: false"}
}

test_unconfined_seccomp_is_refused_at_either_level if {
	unconfined := {"seccompProfile": {"type": "Unconfined"}}
	messages({"securityContext": unconfined, "containers": [container("app", hardened)]}) == {"Pod <web> uses seccomp profile <Unconfined>; allowed: RuntimeDefault, Localhost"}
	messages({"containers": [container("app", object.union(hardened, unconfined))]}) == {"container <app> uses seccomp profile <Unconfined>; allowed: RuntimeDefault, Localhost"}
}

test_container_profile_overrides_the_pod_default if {
	context := object.union(hardened, {"seccompProfile": {"type": "Unconfined"}})
	count(violation) == 1 with input as pod({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [container("app", context)]})
}

test_every_container_kind_is_checked if {
	spec := {
		"containers": [container("app", hardened)],
		"initContainers": [container("init", object.remove(hardened, ["allowPrivilegeEscalation"]))],
		"ephemeralContainers": [container("debug", object.remove(hardened, ["capabilities"]))],
	}
	{v.details.container | some v in violation} == {"init", "debug"} with input as pod(spec)
}

test_windows_pods_are_exempt_from_linux_only_controls if {
	spec := {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true}, "containers": [{"name": "app", "image": "web:1"}]}
	count(violation) == 0 with input as pod(spec)
}

test_workload_templates_are_checked if {
	template := {"spec": {"containers": [container("app", object.remove(hardened, ["runAsNonRoot"]))]}}
	{v.msg | some v in violation} == {"container <app> must set securityContext.runAsNonRoot: true (or the pod must)"} with input as {"review": {"object": {"kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"template": template}}}}
}
