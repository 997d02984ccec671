package farpoint.recipes.containerresources_test

import data.farpoint.recipes.containerresources.violation

full := {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}

pod(containers) := {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": containers}}}}

test_container_with_all_four_passes if {
	count(violation) == 0 with input as pod([{"name": "app", "image": "web:1", "resources": full}])
}

test_each_missing_setting_is_named if {
	violation == {
		{"msg": "container <app> has no cpu limit (resources.limits.cpu)", "details": {"container": "app", "missing": "limits.cpu"}},
		{"msg": "container <app> has no memory request (resources.requests.memory)", "details": {"container": "app", "missing": "requests.memory"}},
	} with input as pod([{"name": "app", "image": "web:1", "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}}}])
}

test_container_without_resources_misses_all_four if {
	count(violation) == 4 with input as pod([{"name": "app", "image": "web:1"}])
}

test_numeric_quantities_count if {
	count(violation) == 0 with input as pod([{"name": "app", "image": "web:1", "resources": {"requests": {"cpu": 1, "memory": "1Gi"}, "limits": {"cpu": 2, "memory": "1Gi"}}}])
}

test_parameters_choose_the_required_subset if {
	no_cpu_limit := pod([{"name": "app", "image": "web:1", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}}}])
	count(violation) == 0 with input as object.union(no_cpu_limit, {"parameters": {"required": ["requests.cpu", "requests.memory", "limits.memory"]}})
	count(violation) == 1 with input as no_cpu_limit
}

test_init_containers_count_and_ephemeral_containers_do_not if {
	spec := {
		"containers": [{"name": "app", "image": "web:1", "resources": full}],
		"initContainers": [{"name": "init", "image": "busybox:1", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
		"ephemeralContainers": [{"name": "debug", "image": "busybox:1"}],
	}
	{v.msg | some v in violation} == {
		"container <init> has no cpu limit (resources.limits.cpu)",
		"container <init> has no memory limit (resources.limits.memory)",
	} with input as {"review": {"object": {"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": spec}}}}}
}
