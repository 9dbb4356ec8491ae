"""``api.schemas.Base`` copies plain values without marshmallow's field calls: the JSON it
dumps is the JSON marshmallow's own ``Schema._serialize`` makes, for every response
schema and values of every kind (right type, wrong type, bool for int, None, missing)."""

from __future__ import annotations

import json
import random
from uuid import UUID

import marshmallow as ma
import pytest
from marshmallow import fields

from api import schemas as s

SCHEMAS = sorted((c for c in vars(s).values() if isinstance(c, type) and
                  issubclass(c, s.Base) and c is not s.Base and not c.__name__.endswith("Args")),
                 key=lambda c: c.__name__)
VALUES = [0, 7, -3, True, False, 2.5, "12", "text", "", None, "2026-12-03T10:00:00+00:00",
          UUID(int=5), ["a", "b"], [1, 2]]


def _sample(schema: ma.Schema, rng: random.Random) -> dict:
    obj = {}
    for name, field in schema.dump_fields.items():
        if rng.random() < 0.1:
            continue  # missing
        if isinstance(field, fields.Nested):
            inner = field.schema
            obj[name] = [_sample(inner, rng) for _ in range(2)] if field.many else \
                _sample(inner, rng)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            obj[name] = [_sample(field.inner.schema, rng) for _ in range(2)]
        else:
            obj[name] = rng.choice(VALUES)
    return obj


def _marshmallow(schema: ma.Schema, obj: dict) -> str:
    try:
        return json.dumps(ma.Schema._serialize(schema, obj), default=str)
    except Exception as e:  # noqa: BLE001 - a value the field refuses: so must Base
        return f"raised {type(e).__name__}"


def _ours(schema: ma.Schema, obj: dict) -> str:
    try:
        return json.dumps(schema._serialize(obj), default=str)
    except Exception as e:  # noqa: BLE001
        return f"raised {type(e).__name__}"


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda c: c.__name__)
def test_base_dumps_what_marshmallow_dumps(schema_class):
    schema = schema_class()
    rng = random.Random(schema_class.__name__)
    for _ in range(200):
        obj = _sample(schema, rng)
        assert _ours(schema, obj) == _marshmallow(schema, obj), obj


def test_plain_values_are_copied_and_others_converted():
    week = s.ProgressWeek().dump({"week": 1, "theme": None, "theme_label": None,
                                  "reflections": True, "decisions": 2.9})
    assert json.dumps(week) == '{"week": 1, "theme": null, "theme_label": null, ' \
                               '"reflections": 1, "decisions": 2}'
