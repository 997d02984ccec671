package farpoint.recipes.requiredlabels_test

import data.farpoint.recipes.requiredlabels.violation

review(labels, parameters) := {
	"review": {"object": {"kind": "Namespace", "metadata": {"name": "shop", "labels": labels}}},
	"parameters": {"labels": parameters},
}

team_and_cost_center := [{"key": "team"}, {"key": "cost-center", "allowedRegex": "^[0-9]{4}$"}]

test_labelled_object_passes if {
	count(violation) == 0 with input as review({"team": "payments", "cost-center": "1234"}, team_and_cost_center)
}

test_each_missing_label_is_named if {
	violation == {
		{"msg": "Namespace <shop> is missing label <team>", "details": {"missingLabel": "team"}},
		{"msg": "Namespace <shop> is missing label <cost-center>", "details": {"missingLabel": "cost-center"}},
	} with input as review({"app": "web"}, team_and_cost_center)
}

test_value_must_match_the_whole_regex if {
	violation == {{
		"msg": "Namespace <shop> has label <cost-center: 12345>, which does not match ^[0-9]{4}$",
		"details": {"label": "cost-center", "value": "12345", "allowedRegex": "^[0-9]{4}$"},
	}} with input as review({"team": "payments", "cost-center": "12345"}, team_and_cost_center)
}

test_empty_value_counts_as_present_unless_a_regex_refuses_it if {
	count(violation) == 0 with input as review({"team": ""}, [{"key": "team"}])
	count(violation) == 1 with input as review({"team": ""}, [{"key": "team", "allowedRegex": "^.+$"}])
}

test_object_without_labels_misses_all if {
	object := {"kind": "Pod", "metadata": {"generateName": "web-"}}
	{v.msg | some v in violation} == {"Pod <web-> is missing label <team>"} with input as {"review": {"object": object}, "parameters": {"labels": [{"key": "team"}]}}
}
