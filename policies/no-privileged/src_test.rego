package farpoint.recipes.noprivileged_test

import data.farpoint.recipes.noprivileged.violation

pod(spec) := {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}, "spec": spec}}}

test_unprivileged_and_unset_pass if {
	count(violation) == 0 with input as pod({"containers": [
		{"name": "a", "image": "web:1"},
		{"name": "b", "image": "web:1", "securityContext": {"privileged": false}},
	]})
}

test_privileged_container_is_refused_by_name if {
	violation == {{
		"msg": "container <agent> is privileged (securityContext.privileged: true); privileged containers are not allowed",
		"details": {"container": "agent"},
	}} with input as pod({"containers": [{"name": "agent", "image": "agent:1", "securityContext": {"privileged": true}}]})
}

test_init_and_ephemeral_containers_in_workloads_are_checked if {
	spec := {
		"containers": [{"name": "app", "image": "web:1"}],
		"initContainers": [{"name": "sysctl", "image": "busybox:1", "securityContext": {"privileged": true}}],
		"ephemeralContainers": [{"name": "debug", "image": "busybox:1", "securityContext": {"privileged": true}}],
	}
	{v.details.container | some v in violation} == {"sysctl", "debug"} with input as pod(spec)
	count(violation) == 2 with input as {"review": {"object": {"kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {"template": {"spec": spec}}}}}
}
