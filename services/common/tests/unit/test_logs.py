import io
import json
import logging

from guichet_common import context, logs


def test_json_lines_carry_the_correlation_id_and_mask_personal_data():
    stream = io.StringIO()
    logs.configure("accounts", "INFO", stream=stream)
    with context.bound("corr-42", causation="evt-1"):
        logging.getLogger("x").info("sent to marie.curie@example.fr or 06 12 34 56 78 with Bearer abc.def.ghi",
                                    extra={"fields": {"account_id": "a-1"}})
    entry = json.loads(stream.getvalue())
    assert entry["service"] == "accounts"
    assert entry["correlation_id"] == "corr-42" and entry["causation_id"] == "evt-1"
    assert entry["account_id"] == "a-1"
    assert "marie.curie" not in entry["message"] and "<email>" in entry["message"]
    assert "06 12 34 56 78" not in entry["message"] and "<phone>" in entry["message"]
    assert "abc.def.ghi" not in entry["message"]


def test_bound_restores_the_previous_context():
    with context.bound("outer"):
        with context.bound("inner"):
            assert context.current_correlation_id() == "inner"
        assert context.current_correlation_id() == "outer"
    assert context.current_correlation_id() is None
