package farpoint.recipes.nonodeport_test

import data.farpoint.recipes.nonodeport.violation

service(spec) := {"review": {"object": {"kind": "Service", "metadata": {"name": "shop"}, "spec": spec}}}

test_cluster_ip_and_default_type_pass if {
	count(violation) == 0 with input as service({"type": "ClusterIP", "ports": [{"port": 80}]})
	count(violation) == 0 with input as service({"ports": [{"port": 80}]})
	count(violation) == 0 with input as service({"type": "LoadBalancer", "ports": [{"port": 80}]})
}

test_node_port_service_is_refused if {
	violation == {{
		"msg": "Service <shop> has type NodePort; NodePort services are not allowed",
		"details": {"type": "NodePort"},
	}} with input as service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]})
}

test_other_kinds_are_ignored if {
	count(violation) == 0 with input as {"review": {"object": {"kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {"type": "NodePort"}}}}
}
