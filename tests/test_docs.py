from faq_search.config import SETTINGS, Config
from tests.conftest import ROOT


def test_every_setting_is_documented_once_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    names = [s[0] for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(readme.count(f"| `{name}` |") == 1 for name in names)
    for name, _kind, default, help_text in SETTINGS:
        shown = f"`{default}`" if default != "" else "(unset)"
        assert f"| `{name}` | {shown} | {help_text} |" in readme, name


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text("utf-8")[:600]
    assert "make run" in head and "make test" in head


def test_config_rejects_bad_values():
    import pytest

    with pytest.raises(ValueError, match="FAQ_MAX_K"):
        Config.from_mapping({"FAQ_MAX_K": "many"})
    assert Config.from_mapping({"PORT": "9000"}).PORT == 9000


def test_every_error_code_is_documented():
    import re

    from faq_search.web.workers import UNREADABLE

    api = (ROOT / "docs" / "api.md").read_text("utf-8")
    source = "".join(p.read_text("utf-8") for p in (ROOT / "faq_search" / "web").glob("*.py"))
    codes = set(re.findall(r'ApiError\(\d+, "([a-z_]+)"', source)) | {"invalid_k", "not_found", "method_not_allowed", "internal_error"}
    codes |= {code for _errors, _status, code in UNREADABLE}  # answered by the gunicorn worker, before the app
    for code in codes:
        assert f"`{code}`" in api, code


def test_make_run_reads_the_corpus_and_index_settings():
    import os
    import subprocess

    def planned(**env):
        env = {k: v for k, v in os.environ.items() if k not in ("FAQ_CORPUS_DIR", "FAQ_INDEX_DIR")} | env
        return subprocess.run(["make", "-n", "run"], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout

    assert "--corpus corpus --out index --ensure" in planned() and "FAQ_INDEX_DIR=index " in planned()
    moved = planned(FAQ_CORPUS_DIR="/srv/kb", FAQ_INDEX_DIR="/srv/ix")
    assert "--corpus /srv/kb --out /srv/ix --ensure" in moved and "FAQ_INDEX_DIR=/srv/ix " in moved
