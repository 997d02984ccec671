package farpoint.recipes.httpsonlyingress_test

import data.farpoint.recipes.httpsonlyingress.violation

ingress(annotations, spec) := {"review": {
	"kind": {"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"},
	"object": {"kind": "Ingress", "metadata": {"name": "shop", "annotations": annotations}, "spec": spec},
}}

tls := {"tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}], "rules": [{"host": "shop.example.com"}]}

test_tls_and_annotation_pass if {
	count(violation) == 0 with input as ingress({"kubernetes.io/ingress.allow-http": "false"}, tls)
}

test_missing_tls_is_refused if {
	violation == {{"msg": "Ingress <shop> has no spec.tls; HTTPS-only ingresses need TLS", "details": {"missing": "spec.tls"}}} with input as ingress({"kubernetes.io/ingress.allow-http": "false"}, {"rules": [{"host": "shop.example.com"}]})
	count(violation) == 1 with input as ingress({"kubernetes.io/ingress.allow-http": "false"}, {"tls": []})
}

test_missing_or_other_annotation_value_is_refused if {
	violation == {{
		"msg": "Ingress <shop> lacks annotation <kubernetes.io/ingress.allow-http: \"false\">",
		"details": {"annotation": "kubernetes.io/ingress.allow-http"},
	}} with input as ingress({}, tls)
	violation == {{
		"msg": "Ingress <shop> has annotation <kubernetes.io/ingress.allow-http: true>; it must be \"false\"",
		"details": {"annotation": "kubernetes.io/ingress.allow-http", "value": "true"},
	}} with input as ingress({"kubernetes.io/ingress.allow-http": "true"}, tls)
}

test_ingress_without_annotations_or_tls_gets_both if {
	count(violation) == 2 with input as {"review": {"object": {"kind": "Ingress", "metadata": {"name": "shop"}, "spec": {}}}}
}

test_other_kinds_are_ignored if {
	count(violation) == 0 with input as {"review": {"kind": {"group": "", "version": "v1", "kind": "Service"}, "object": {"kind": "Service", "metadata": {"name": "s"}}}}
}
