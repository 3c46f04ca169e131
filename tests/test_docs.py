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
    # Well-typed but impossible: each would break every search or request, so none may start a server.
    for name, value, told in [("FAQ_MIN_SCORE", "nan", "from 0 to 1"), ("FAQ_MIN_SCORE", "1.5", "from 0 to 1"),
                              ("FAQ_RELOAD_INTERVAL", "inf", "from 0 to 3600"), ("FAQ_MAX_QUERY_CHARS", "-1", "1 or more"),
                              ("FAQ_MAX_BODY_BYTES", "0", "4096 or more"), ("FAQ_MAX_K", "20", "21 or more"),
                              ("FAQ_QUERY_LOG", "2", "0 or 1"), ("PORT", "0", "from 1 to 65535"),
                              ("WEB_CONCURRENCY", "0", "1 or more"), ("FAQ_RATE_API", "-1", "0 or more")]:
        with pytest.raises(ValueError) as info:
            Config.from_mapping({name: value})
        assert str(info.value) == f"setting {name}={value!r} is out of range: must be {told}"
    edges = {"FAQ_MIN_SCORE": "1", "FAQ_MAX_K": "21", "FAQ_RATE_API": "0", "PORT": "65535", "FAQ_MAX_BODY_BYTES": "4096"}
    assert Config.from_mapping(edges).FAQ_MAX_K == 21


def test_each_settings_help_says_its_range():
    from faq_search.config import RANGES, range_text

    helps = {name: help_text for name, _kind, _default, help_text in SETTINGS}
    for name in RANGES:
        assert range_text(name) in helps[name], name


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
