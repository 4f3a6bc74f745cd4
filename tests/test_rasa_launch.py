"""bot.rasa_launch: Rasa with its action replies validated against a schema checked once."""
import jsonschema
import pytest

from bot import rasa_launch

SCHEMA = {"type": "object", "properties": {"events": {"type": "array"}}, "required": ["events"]}


def test_validate_accepts_good_replies_and_rejects_bad_ones_as_jsonschema_does(monkeypatch):
    checked = []
    original = jsonschema.Draft202012Validator.check_schema
    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema",
                        classmethod(lambda cls, schema: (checked.append(1), original(schema))))
    rasa_launch._validators.clear()
    schema = {**SCHEMA, "$schema": jsonschema.Draft202012Validator.META_SCHEMA["$id"]}
    for _ in range(3):
        assert rasa_launch.validate({"events": []}, schema) is None
    assert len(checked) == 1  # the schema itself is checked once, not per reply
    with pytest.raises(jsonschema.ValidationError) as ours:
        rasa_launch.validate({"events": "no"}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError) as theirs:
        jsonschema.validate({"events": "no"}, SCHEMA)
    assert ours.value.message == theirs.value.message


def test_a_bad_schema_still_fails():
    with pytest.raises(jsonschema.SchemaError):
        rasa_launch.validate({}, {"type": "no-such-type"})


def test_event_types_are_looked_up_once_with_the_same_answers():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    rasa_launch.remember_event_types()
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("unknown", UserUttered) is UserUttered
    with pytest.raises(ValueError):
        Event.resolve_by_type("unknown")
    assert Event.from_parameters({"event": "slot", "name": "stage", "value": "question"}) \
        == SlotSet("stage", "question")
