package farpoint.recipes.podsecuritybaseline_test

import data.farpoint.recipes.podsecuritybaseline.violation

pod(spec) := {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}, "spec": spec}}}

app := {"name": "app", "image": "web:1"}

test_plain_pod_passes if {
	spec := {
		"containers": [object.union(app, {
			"ports": [{"containerPort": 8080}, {"containerPort": 9090, "hostPort": 0}],
			"securityContext": {"privileged": false, "capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["NET_RAW"]}},
		})],
		"hostNetwork": false,
		"volumes": [{"name": "cache", "emptyDir": {}}],
	}
	count(violation) == 0 with input as pod(spec)
}

test_each_host_namespace_is_refused if {
	violation == {
		{"msg": "Pod <web> sets hostNetwork: true; host namespaces are not allowed", "details": {"control": "hostNamespaces", "field": "hostNetwork"}},
		{"msg": "Pod <web> sets hostPID: true; host namespaces are not allowed", "details": {"control": "hostNamespaces", "field": "hostPID"}},
		{"msg": "Pod <web> sets hostIPC: true; host namespaces are not allowed", "details": {"control": "hostNamespaces", "field": "hostIPC"}},
	} with input as pod({"containers": [app], "hostNetwork": true, "hostPID": true, "hostIPC": true})
}

test_host_port_is_refused_unless_listed if {
	spec := {"containers": [object.union(app, {"ports": [{"containerPort": 80, "hostPort": 80}]})]}
	violation == {{
		"msg": "container <app> uses hostPort <80>; host ports are not allowed here",
		"details": {"control": "hostPorts", "container": "app", "hostPort": 80},
	}} with input as pod(spec)
	count(violation) == 0 with input as object.union(pod(spec), {"parameters": {"allowedHostPorts": [80, 443]}})
}

test_host_path_volume_is_refused_with_its_path if {
	violation == {{
		"msg": "volume <logs> mounts host path </var/log>; hostPath volumes are not allowed",
		"details": {"control": "hostPath", "volume": "logs", "path": "/var/log"},
	}} with input as pod({"containers": [app], "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]})
}

test_privileged_init_container_is_refused if {
	spec := {"containers": [app], "initContainers": [{"name": "setup", "image": "busybox:1", "securityContext": {"privileged": true}}]}
	{v.details.container | some v in violation; v.details.control == "privileged"} == {"setup"} with input as pod(spec)
}

test_capabilities_beyond_the_baseline_set_are_refused_each if {
	spec := {"ephemeralContainers": [{"name": "debug", "image": "busybox:1", "securityContext": {"capabilities": {"add": ["SYS_ADMIN", "KILL", "NET_ADMIN"]}}}]}
	{v.msg | some v in violation} == {
		"container <debug> adds capability <SYS_ADMIN>, which the baseline profile does not allow",
		"container <debug> adds capability <NET_ADMIN>, which the baseline profile does not allow",
	} with input as pod(spec)
}

test_workload_templates_are_checked if {
	template := {"spec": {"containers": [app], "hostNetwork": true}}
	{v.msg | some v in violation} == {"Deployment <web> sets hostNetwork: true; host namespaces are not allowed"} with input as {"review": {"object": {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": template}}}}
	count(violation) == 1 with input as {"review": {"object": {"kind": "CronJob", "metadata": {"name": "web"}, "spec": {"jobTemplate": {"spec": {"template": template}}}}}}
}
