package farpoint.recipes.imagedigest_test

import data.farpoint.recipes.imagedigest.violation

digest := "sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31"

pod(image) := {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "app", "image": image}]}}}}

test_digest_pinned_images_pass if {
	count(violation) == 0 with input as pod(concat("@", ["harbor.example.com/shop/web", digest]))
	count(violation) == 0 with input as pod(concat("@", ["harbor.example.com/shop/web:1.4", digest]))
}

test_tag_only_image_is_refused_naming_container_and_image if {
	violation == {{
		"msg": "container <app> uses image <nginx:1.27>, which is not pinned by a digest (image@sha256:<64 hex digits>)",
		"details": {"container": "app", "image": "nginx:1.27"},
	}} with input as pod("nginx:1.27")
}

test_malformed_or_other_digests_are_refused if {
	count(violation) == 1 with input as pod("nginx@sha256:abc")
	count(violation) == 1 with input as pod("nginx@sha512:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31")
	count(violation) == 1 with input as pod(concat("", ["nginx@", upper(digest)]))
}

test_every_container_field_and_workload_is_checked if {
	spec := {
		"containers": [{"name": "app", "image": concat("@", ["web", digest])}],
		"initContainers": [{"name": "init", "image": "busybox:1.36"}],
		"ephemeralContainers": [{"name": "debug", "image": "busybox:1.36"}],
	}
	{v.details.container | some v in violation} == {"init", "debug"} with input as {"review": {"object": {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": spec}}}}}
}
