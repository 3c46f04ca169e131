import json
import subprocess
import sys

from faq_search.cli import build_main, main
from faq_search.index import read_current
from tests.conftest import ROOT, TINY_ARTICLES


def test_build_and_check_exit_codes(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "4 articles" in summary and "vocabulary" in summary
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 0


def test_build_errors_are_path_line_message_and_publish_nothing(make_corpus, tmp_path, capsys):
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": "---\nid: x\ncategory: password\n---\n答案\n"})
    out = tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "password/bad.md:1: missing 'question'" in err
    assert "the published index is unchanged" in err
    assert read_current(out) is None


def test_search_command_json_and_text(tiny_index, capsys):
    assert main(["search", "忘记登录密码", "--index", str(tiny_index), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["results"][0]["id"] == "pw-login"
    assert main(["search", "钱转错人了", "--index", str(tiny_index), "-k", "2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("1. [") and "tr-wrong" in text


def test_search_command_no_match_and_bad_category(tiny_index, capsys):
    assert main(["search", "推荐一部电影", "--index", str(tiny_index)]) == 1
    assert "没有找到匹配的答案" in capsys.readouterr().out
    assert main(["search", "密码", "--index", str(tiny_index), "--category", "zzz"]) == 2
    assert "unknown category" in capsys.readouterr().err


def test_build_index_script_is_a_thin_entry(make_corpus, tmp_path):
    root, out = make_corpus(), tmp_path / "index"
    proc = subprocess.run([sys.executable, str(ROOT / "build_index.py"), "--corpus", str(root), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when not on a terminal
    assert read_current(out)
