"""A test town for the accounts process: the demo town without captcha (tests cannot read an image)."""
import pytest
import yaml

from guichet_common.testing import migrated_service


@pytest.fixture
def town_file(tmp_path):
    def write(**accounts):
        path = tmp_path / f"town-{len(list(tmp_path.glob('town-*')))}.yaml"
        path.write_text(yaml.safe_dump({"name": "Ville de Test", "insee_code": "59512",
                                        "public_url": "https://ville.test",
                                        "accounts": {"captcha": False, **accounts}}), encoding="utf-8")
        return str(path)
    return write


@pytest.fixture
def accounts_service(processes, databases, town_file):
    def start(env=None, **accounts):
        return migrated_service(processes, databases, "accounts", GUICHET_TOWN_SETTINGS=town_file(**accounts),
                                **(env or {}))
    return start
