"""The condition language on plain dicts: no AWS, no I/O."""
from __future__ import annotations

import pytest

from auditor.rules.conditions import (
    ConditionError, Context, ERROR, FAIL, NotApplicable, PASS, evaluate, parse_condition,
)

PROD = Context(environment="production", env_name="prod", account_id="123456789012", region="eu-west-1",
               params={"days": 35, "bucket": "logs-{env}-{account_id}"})


def judge(raw, data, unknown=None, ctx=PROD, params=("days", "bucket")):
    return evaluate(parse_condition(raw, set(params)), data, unknown or {}, ctx)


@pytest.mark.parametrize("raw, data, status", [
    ({"key": "a", "equals": 1}, {"a": 1}, PASS),
    ({"key": "a", "equals": 1}, {"a": 2}, FAIL),
    ({"key": "a", "equals": True}, {"a": 1}, FAIL),  # true is not 1
    ({"key": "a", "not_equals": "Enabled"}, {"a": "Suspended"}, PASS),
    ({"key": "a", "in": ["x", "y"]}, {"a": "y"}, PASS),
    ({"key": "a", "not_in": ["x", "y"]}, {"a": "y"}, FAIL),
    ({"key": "a", "gte": 35}, {"a": 35}, PASS),
    ({"key": "a", "gte": 35}, {"a": 34}, FAIL),
    ({"key": "a", "gte": 35}, {"a": None}, FAIL),
    ({"key": "a", "lte": 80}, {"a": 80.0}, PASS),
    ({"key": "a", "gt": 0}, {"a": 0}, FAIL),
    ({"key": "a", "lt": 1}, {"a": 0}, PASS),
    ({"key": "a", "contains": "x"}, {"a": ["x", "z"]}, PASS),
    ({"key": "a", "contains": "q"}, {"a": ["x", "z"]}, FAIL),
    ({"key": "a", "not_contains": "q"}, {"a": ["x"]}, PASS),
    ({"key": "a", "matches": "r6g\\..*"}, {"a": "r6g.large"}, PASS),
    ({"key": "a", "matches": "r6g"}, {"a": "r6g.large"}, FAIL),  # whole value
    ({"key": "a", "exists": True}, {"a": "x"}, PASS),
    ({"key": "a", "exists": True}, {"a": []}, FAIL),
    ({"key": "a", "absent": True}, {}, PASS),
    ({"key": "a.b.c", "equals": 1}, {"a": {"b": {"c": 1}}}, PASS),
    ({"key": "a.b.c", "equals": 1}, {"a": None}, FAIL),
])
def test_operators(raw, data, status):
    assert judge(raw, data).status == status


def test_unknown_property_is_error_never_pass_or_fail():
    outcome = judge({"key": "encryption.enabled", "equals": True}, {"encryption": None},
                    {"encryption": "access denied to GetBucketEncryption (AccessDenied)"})
    assert outcome.status == ERROR
    assert "AccessDenied" in outcome.message
    negated = judge({"not": {"key": "encryption.enabled", "equals": True}}, {}, {"encryption": "denied"})
    assert negated.status == ERROR


def test_all_any_not_three_valued():
    unknown = {"b": "denied"}
    data = {"a": 1}
    assert judge({"all": [{"key": "a", "equals": 2}, {"key": "b", "equals": 1}]}, data, unknown).status == FAIL
    assert judge({"all": [{"key": "a", "equals": 1}, {"key": "b", "equals": 1}]}, data, unknown).status == ERROR
    assert judge({"any": [{"key": "a", "equals": 1}, {"key": "b", "equals": 1}]}, data, unknown).status == PASS
    assert judge({"any": [{"key": "a", "equals": 2}, {"key": "b", "equals": 1}]}, data, unknown).status == ERROR
    assert judge({"not": {"key": "a", "equals": 2}}, data).status == PASS


def test_list_quantifiers_report_the_closest_item():
    alarms = {"alarms": [
        {"name": "cpu-weak", "metric_name": "CPUUtilization", "threshold": 95},
        {"name": "disk", "metric_name": "FreeStorageSpace", "threshold": 10},
    ]}
    cond = {"key": "alarms", "any": [{"key": "metric_name", "equals": "CPUUtilization"}, {"key": "threshold", "lte": 80}]}
    outcome = judge(cond, alarms)
    assert outcome.status == FAIL
    assert outcome.actual == 95
    assert "cpu-weak" in outcome.message and "threshold" in outcome.message
    alarms["alarms"].append({"name": "cpu", "metric_name": "CPUUtilization", "threshold": 80})
    assert judge(cond, alarms).status == PASS
    assert judge({"key": "alarms", "all": {"key": "threshold", "lte": 100}}, alarms).status == PASS
    assert judge({"key": "alarms", "all": {"key": "threshold", "lte": 50}}, alarms).status == FAIL
    empty = judge(cond, {"alarms": []})
    assert empty.status == FAIL and "empty" in empty.message


def test_per_environment_values_and_parameters():
    cond = {"key": "retention", "gte": {"by_env": {"prod": 35, "staging": 14}}}
    assert judge(cond, {"retention": 35}).status == PASS
    assert judge(cond, {"retention": 14}).status == FAIL
    dev = Context(environment="development", env_name="dev")
    with pytest.raises(NotApplicable):
        judge(cond, {"retention": 1}, ctx=dev)
    assert judge({"key": "retention", "gte": {"param": "days"}}, {"retention": 34}).status == FAIL
    placeholder = judge({"key": "name", "equals": {"param": "bucket"}}, {"name": "logs-prod-123456789012"})
    assert placeholder.status == PASS


@pytest.mark.parametrize("raw, path, words", [
    ({"key": "a", "equalz": 1}, ("equalz",), "unknown operator"),
    ({"key": "a"}, (), "exactly one operator"),
    ({"key": "a", "equals": 1, "gte": 2}, (), "exactly one operator"),
    ({"key": "a", "in": "x"}, ("in",), "takes a list"),
    ({"key": "a", "matches": "("}, ("matches",), "invalid regular expression"),
    ({"key": "a", "equals": {"param": "nope"}}, ("equals", "param"), "not declared"),
    ({"key": "a", "equals": {"by_env": {"qa": 1}}}, ("equals", "by_env", "qa"), "unknown environment"),
    ({"all": []}, ("all",), "non-empty list"),
    ({"either": []}, ("either",), "unknown condition"),
    ("text", (), "must be a mapping"),
])
def test_malformed_conditions_name_the_field(raw, path, words):
    with pytest.raises(ConditionError) as caught:
        parse_condition(raw, set())
    assert caught.value.path == path
    assert words in str(caught.value)


def test_covers_takes_a_name_through_any_wildcard_pattern_of_the_list():
    from auditor.rules.operators import OPERATORS

    covers = OPERATORS["covers"][0]
    assert covers(["Products-production", "Sessions-*"], "Sessions-production")
    assert covers(["*"], "anything")
    assert not covers(["Products-production"], "Sessions-production")
    assert not covers(None, "Sessions-production")  # nothing selected covers nothing
