import importlib.util, sys
from pathlib import Path
import pytest
from domain.privacy import PersonalDataTranscoding
from domain import values

def _load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(name + ".py"))
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m

def test_privacy_detects_cleartext(app, store_url, monkeypatch):
    orig = PersonalDataTranscoding.encode
    monkeypatch.setattr(PersonalDataTranscoding, "encode",
                        lambda self, obj: {**orig(self, obj), "leak": obj.text})
    m = _load("test_core_privacy")
    with pytest.raises(AssertionError, match="stored in clear"):
        m.test_personal_data_is_sealed_at_rest_and_readable_through_the_app(app, store_url)

def test_replay_detects_bad_decode(monkeypatch):
    monkeypatch.setattr(values.DateAsISO, "decode", lambda self, d: values.date.fromisoformat(d).replace(day=1))
    m = _load("test_core_replay")
    with pytest.raises(AssertionError):
        m.test_replaying_stored_events_rebuilds_identical_aggregates()
