"""The committed JSON Schemas and AsyncAPI document match the models (CI fails on drift)."""

from __future__ import annotations

import copy

from oms_contracts import schemagen


def test_committed_schemas_match_the_models():
    problems = schemagen.check()
    assert problems == [], "\n".join(problems)


def test_every_topic_is_documented_in_asyncapi():
    doc = schemagen.asyncapi()
    addresses = {c["address"] for c in doc["channels"].values()}
    from oms_contracts import TOPICS

    assert addresses == {t.name for t in TOPICS}


def test_removing_a_field_is_a_breaking_change():
    old = schemagen.schema_files()["OrderPlaced.v1.json"]
    new = copy.deepcopy(old)
    del new["$defs"]["OrderPlaced"]["properties"]["channel"]
    assert any("channel: removed" in p for p in schemagen.incompatibilities(old, new))


def test_adding_an_optional_field_is_compatible_but_a_required_one_is_not():
    old = schemagen.schema_files()["ReserveStock.v1.json"]
    optional = copy.deepcopy(old)
    optional["$defs"]["ReserveStock"]["properties"]["note"] = {"type": "string"}
    assert schemagen.incompatibilities(old, optional) == []
    required = copy.deepcopy(optional)
    required["$defs"]["ReserveStock"]["required"].append("note")
    assert schemagen.incompatibilities(old, required) == ["ReserveStock.note: newly required"]


def test_published_schemas_stay_compatible_with_their_previous_commit():
    assert schemagen.history_problems() == []


def test_a_single_value_literal_may_widen_to_an_enum_holding_it() -> None:
    old = {"properties": {"channel": {"type": "string", "const": "email"}}}
    widened = {"properties": {"channel": {"type": "string", "enum": ["email", "sms"]}}}
    other = {"properties": {"channel": {"type": "string", "enum": ["sms"]}}}
    assert schemagen.incompatibilities(old, widened) == []
    assert schemagen.incompatibilities(old, other) != [] and schemagen.incompatibilities(widened, old) != []


def test_an_enum_may_gain_values_but_never_lose_one():
    old = {"properties": {"method": {"type": "string", "enum": ["card", "cash"]}}}
    widened = {"properties": {"method": {"type": "string", "enum": ["card", "cash", "gift_card"]}}}
    narrowed = {"properties": {"method": {"type": "string", "enum": ["card"]}}}
    assert schemagen.incompatibilities(old, widened) == []
    assert schemagen.incompatibilities(old, narrowed) != []
