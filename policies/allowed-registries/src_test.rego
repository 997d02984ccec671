package farpoint.recipes.allowedregistries_test

import data.farpoint.recipes.allowedregistries.violation

pod(containers) := {"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": containers}}

review(object, registries) := {"review": {"object": object}, "parameters": {"registries": registries}}

harbor := ["harbor.example.com"]

test_image_from_the_allowed_registry_passes if {
	count(violation) == 0 with input as review(pod([{"name": "app", "image": "harbor.example.com/shop/web:1.4"}]), harbor)
}

test_registry_match_ignores_case_and_port_must_match if {
	count(violation) == 0 with input as review(pod([{"name": "app", "image": "Harbor.Example.com/shop/web:1.4"}]), harbor)
	count(violation) == 1 with input as review(pod([{"name": "app", "image": "harbor.example.com:8443/shop/web:1.4"}]), harbor)
}

test_docker_hub_image_without_host_is_refused_with_its_registry if {
	violation == {{
		"msg": "container <app> uses image <nginx:1.27> from registry <docker.io>; allowed: harbor.example.com",
		"details": {"container": "app", "image": "nginx:1.27", "registry": "docker.io"},
	}} with input as review(pod([{"name": "app", "image": "nginx:1.27"}]), harbor)
}

test_registry_name_as_a_path_segment_is_not_the_registry if {
	# "harbor.example.com" appears, but the image comes from evil.example.org.
	count(violation) == 1 with input as review(pod([{"name": "app", "image": "evil.example.org/harbor.example.com/web:1"}]), harbor)
}

test_init_and_ephemeral_containers_are_checked if {
	object := {"kind": "Pod", "metadata": {"name": "web"}, "spec": {
		"containers": [{"name": "app", "image": "harbor.example.com/shop/web:1"}],
		"initContainers": [{"name": "migrate", "image": "docker.io/shop/migrate:1"}],
		"ephemeralContainers": [{"name": "debugger", "image": "busybox"}],
	}}
	{v.details.container | some v in violation} == {"migrate", "debugger"} with input as review(object, harbor)
}

test_workload_pod_templates_are_checked if {
	template := {"spec": {"containers": [{"name": "app", "image": "quay.io/shop/web:1"}]}}
	count(violation) == 1 with input as review({"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": template}}, harbor)
	count(violation) == 1 with input as review({"kind": "StatefulSet", "metadata": {"name": "web"}, "spec": {"template": template}}, harbor)
	count(violation) == 1 with input as review({"kind": "DaemonSet", "metadata": {"name": "web"}, "spec": {"template": template}}, harbor)
	count(violation) == 1 with input as review({"kind": "Job", "metadata": {"name": "web"}, "spec": {"template": template}}, harbor)
	cronjob := {"kind": "CronJob", "metadata": {"name": "web"}, "spec": {"jobTemplate": {"spec": {"template": template}}}}
	count(violation) == 1 with input as review(cronjob, harbor)
}

test_other_kinds_are_ignored if {
	count(violation) == 0 with input as review({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"image": "nginx"}}, harbor)
}

test_path_prefix_entries_match_whole_segments if {
	prefix := ["harbor.example.com/platform"]
	count(violation) == 0 with input as review(pod([{"name": "app", "image": "harbor.example.com/platform/web:1"}]), prefix)
	count(violation) == 1 with input as review(pod([{"name": "app", "image": "harbor.example.com/platform-x/web:1"}]), prefix)
	count(violation) == 1 with input as review(pod([{"name": "app", "image": "harbor.example.com/shop/web:1"}]), prefix)
}

test_docker_hub_prefix_covers_images_without_host if {
	count(violation) == 0 with input as review(pod([{"name": "app", "image": "shop/web:1"}]), ["docker.io/shop"])
}

test_several_registries_are_listed_in_the_message if {
	some v in violation with input as review(pod([{"name": "app", "image": "nginx"}]), ["harbor.example.com", "registry.local:5000"])
	v.msg == "container <app> uses image <nginx> from registry <docker.io>; allowed: harbor.example.com, registry.local:5000"
}
