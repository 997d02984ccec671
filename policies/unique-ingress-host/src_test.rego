package farpoint.recipes.uniqueingresshost_test

import data.farpoint.recipes.uniqueingresshost.violation

ingress(ns, name, hosts) := {
	"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"rules": [{"host": h} | some h in hosts]},
}

inventory := {"namespace": {
	"team-a": {"networking.k8s.io/v1": {"Ingress": {"shop": ingress("team-a", "shop", ["shop.example.com"])}}},
	"team-b": {"networking.k8s.io/v1": {"Ingress": {"blog": ingress("team-b", "blog", ["blog.example.com", "www.example.com"])}}},
}}

review(object) := {"review": {"object": object, "namespace": object.metadata.namespace}}

test_new_host_passes if {
	count(violation) == 0 with input as review(ingress("team-c", "docs", ["docs.example.com"])) with data.inventory as inventory
}

test_host_of_another_ingress_is_refused_naming_it if {
	violation == {{
		"msg": "Ingress <web> uses host <www.example.com>, which Ingress <team-b/blog> already uses",
		"details": {"host": "www.example.com", "usedBy": "team-b/blog"},
	}} with input as review(ingress("team-c", "web", ["docs.example.com", "www.example.com"])) with data.inventory as inventory
}

test_same_name_in_another_namespace_is_another_ingress if {
	count(violation) == 1 with input as review(ingress("team-c", "shop", ["shop.example.com"])) with data.inventory as inventory
}

test_updating_an_ingress_does_not_conflict_with_itself if {
	count(violation) == 0 with input as review(ingress("team-a", "shop", ["shop.example.com"])) with data.inventory as inventory
}

test_namespace_comes_from_the_request_when_the_object_has_none if {
	object := {"kind": "Ingress", "metadata": {"name": "shop"}, "spec": {"rules": [{"host": "shop.example.com"}]}}
	count(violation) == 0 with input as {"review": {"object": object, "namespace": "team-a"}} with data.inventory as inventory
	count(violation) == 1 with input as {"review": {"object": object, "namespace": "team-z"}} with data.inventory as inventory
}

test_empty_inventory_and_rules_without_host_pass if {
	count(violation) == 0 with input as review(ingress("team-c", "web", ["www.example.com"])) with data.inventory as {}
	object := {"kind": "Ingress", "metadata": {"name": "web", "namespace": "team-c"}, "spec": {"rules": [{"http": {}}]}}
	count(violation) == 0 with input as review(object) with data.inventory as inventory
}
