"""Where the file SMS provider writes: one rule for the notifications service and the development tools."""
from pathlib import Path

from guichet_common import smsfile


def test_where_the_development_sms_are(tmp_path):
    data = tmp_path / "var"
    assert smsfile.sms_files({}, data) == [data / "sms.jsonl"]
    assert smsfile.sms_files({"notifications": {"sms_providers": []}}, data) == [data / "sms.jsonl"]
    assert smsfile.sms_files({"notifications": {"sms_providers": [
        {"type": "brevo", "api_key_env": "K"}, {"type": "file", "path": "/srv/sms.jsonl"}, {"type": "file"}]}},
        data) == [Path("/srv/sms.jsonl"),
                  data / "sms.jsonl"]
    assert smsfile.sms_files({"notifications": {"sms_providers": [{"type": "brevo"}]}}, data) == []


def test_guichet_sms_file_moves_the_default_file_for_every_reader_and_the_writer(tmp_path):
    """docker-compose: the notifications and mail catcher containers have separate data directories and
    agree on GUICHET_SMS_FILE, on a volume they share."""
    env = {"GUICHET_SMS_FILE": str(tmp_path / "shared" / "sms.jsonl")}
    assert smsfile.default_path(tmp_path / "var", env) == tmp_path / "shared" / "sms.jsonl"
    assert smsfile.sms_files({}, tmp_path / "var", env) == [tmp_path / "shared" / "sms.jsonl"]
    assert smsfile.sms_files({"notifications": {"sms_providers": [{"type": "file", "path": "/srv/sms.jsonl"}]}},
                             tmp_path / "var", env) == [Path("/srv/sms.jsonl")]  # an explicit path wins
    assert smsfile.default_path(tmp_path / "var", {"GUICHET_SMS_FILE": ""}) == tmp_path / "var" / "sms.jsonl"
