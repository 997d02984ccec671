package farpoint.recipes.nolatesttag_test

import data.farpoint.recipes.nolatesttag.violation

pod(image) := {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "app", "image": image}]}}}}

test_versioned_image_passes if {
	count(violation) == 0 with input as pod("harbor.example.com/shop/web:1.4.2")
}

test_digest_only_image_passes if {
	count(violation) == 0 with input as pod("nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31")
}

test_latest_tag_is_refused_naming_container_and_image if {
	violation == {{
		"msg": "container <app> uses image <nginx:latest>; tag \"latest\" is not allowed",
		"details": {"container": "app", "image": "nginx:latest"},
	}} with input as pod("nginx:latest")
}

test_latest_tag_with_a_digest_is_still_refused if {
	count(violation) == 1 with input as pod("nginx:latest@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31")
}

test_missing_tag_is_refused if {
	violation == {{
		"msg": "container <app> uses image <harbor.example.com/shop/web> without a tag, which pulls \"latest\"; name a version",
		"details": {"container": "app", "image": "harbor.example.com/shop/web"},
	}} with input as pod("harbor.example.com/shop/web")
}

test_registry_port_is_not_a_tag if {
	count(violation) == 1 with input as pod("registry.local:5000/shop/web")
	count(violation) == 0 with input as pod("registry.local:5000/shop/web:2")
}

test_init_ephemeral_and_cronjob_containers_are_checked if {
	spec := {
		"containers": [{"name": "app", "image": "web:1"}],
		"initContainers": [{"name": "init", "image": "busybox:latest"}],
		"ephemeralContainers": [{"name": "debug", "image": "busybox"}],
	}
	{v.details.container | some v in violation} == {"init", "debug"} with input as {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}, "spec": spec}}}
	cronjob := {"kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
	count(violation) == 2 with input as {"review": {"object": cronjob}}
}
