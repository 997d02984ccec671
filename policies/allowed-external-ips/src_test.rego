package farpoint.recipes.allowedexternalips_test

import data.farpoint.recipes.allowedexternalips.violation

service(ips, allowed) := {
	"review": {"object": {"kind": "Service", "metadata": {"name": "shop"}, "spec": {"externalIPs": ips}}},
	"parameters": {"allowedIPs": allowed},
}

allowed := ["192.0.2.10", "198.51.100.0/24"]

test_listed_addresses_and_ranges_pass if {
	count(violation) == 0 with input as service(["192.0.2.10", "198.51.100.7"], allowed)
}

test_service_without_external_ips_passes if {
	count(violation) == 0 with input as {"review": {"object": {"kind": "Service", "metadata": {"name": "shop"}, "spec": {"ports": [{"port": 80}]}}}}
}

test_unlisted_address_is_refused_by_value if {
	violation == {{
		"msg": "Service <shop> uses external IP <203.0.113.5>; allowed: 192.0.2.10, 198.51.100.0/24",
		"details": {"externalIP": "203.0.113.5"},
	}} with input as service(["192.0.2.10", "203.0.113.5"], allowed)
}

test_no_list_refuses_every_external_ip if {
	{v.msg | some v in violation} == {"Service <shop> uses external IP <192.0.2.10>; allowed: none"} with input as {"review": {"object": {"kind": "Service", "metadata": {"name": "shop"}, "spec": {"externalIPs": ["192.0.2.10"]}}}}
	count(violation) == 1 with input as service(["192.0.2.10"], [])
}

test_neighbouring_address_of_a_range_is_refused if {
	count(violation) == 1 with input as service(["198.51.101.1"], allowed)
}

test_ipv6_ranges_work if {
	count(violation) == 0 with input as service(["2001:db8::5"], ["2001:db8::/64"])
	count(violation) == 1 with input as service(["2001:db9::5"], ["2001:db8::/64"])
}
