import io
import json
import re
import shutil
import subprocess
import sys
import types
from datetime import date
from pathlib import Path

import pytest

from faq_search.build import build_index
from faq_search.cli import build_main, main
from faq_search.index import read_current
from tests.conftest import ROOT, TINY_ARTICLES


class Terminal(io.StringIO):
    """A stream that says it is a terminal, on file descriptor ``fd``: what isatty() decides is tested."""

    def __init__(self, text: str = "", fd: int = 1):
        super().__init__(text)
        self.fd = fd

    def isatty(self):
        return True

    def fileno(self):
        return self.fd


def test_build_and_check_exit_codes(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "4 articles" in summary and "vocabulary" in summary
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 0
    for modes in (["--check", "--watch"], ["--ensure", "--watch"], ["--check", "--ensure"]):
        assert build_main(["--corpus", str(root), "--out", str(out), *modes]) == 2
        assert "different modes" in capsys.readouterr().err


def test_ctrl_c_in_build_index_stops_it_without_a_traceback(make_corpus, tmp_path, monkeypatch, capsys):
    # Ctrl-C during make run's build printed a KeyboardInterrupt traceback (faq-search build did not).
    import faq_search.build

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(faq_search.build, "build_index", interrupted)
    assert build_main(["--corpus", str(make_corpus()), "--out", str(tmp_path / "index")]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_a_folder_inside_the_corpus_is_refused_without_a_dictionary_warning_first(make_corpus, tmp_path, capsys):
    # Its missing dict/ is not the problem: the refusal says what is.
    root = make_corpus()
    assert build_main(["--corpus", str(root / "articles" / "password"), "--out", str(tmp_path / "index")]) == 2
    err = capsys.readouterr().err
    assert "not a corpus directory" in err and "warning" not in err


def test_a_corpus_with_under_half_the_published_articles_is_refused_unless_allowed(tmp_path, capsys):
    from tests.test_incremental import write, written

    entries, corpus, out = written(tmp_path)
    assert build_main(["--corpus", str(corpus), "--out", str(out), "-q"]) == 0
    published = read_current(out)
    write(corpus, entries[:31])  # half of them, less one: allowed
    assert build_main(["--corpus", str(corpus), "--out", str(out), "-q"]) == 0 and read_current(out) != published
    published = read_current(out)
    write(corpus, entries[:12])  # as from a --corpus one folder too deep
    capsys.readouterr()
    assert build_main(["--corpus", str(corpus), "--out", str(out), "-q"]) == 2 and read_current(out) == published
    err = capsys.readouterr().err
    assert f"12 articles, where the published index {published} has 31" in err and "--allow-shrink" in err
    assert build_main(["--corpus", str(corpus), "--out", str(out), "-q", "--allow-shrink"]) == 0
    assert read_current(out) != published


def test_build_errors_are_path_line_message_and_publish_nothing(make_corpus, tmp_path, capsys):
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": "---\nid: x\ncategory: password\n---\n答案\n"})
    out = tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "password/bad.md:1: missing 'question'" in err
    assert "the published index is unchanged" in err
    assert read_current(out) is None


def test_an_unusable_index_directory_is_a_clear_error(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "not-a-directory"
    out.write_text("x", "utf-8")
    for extra in ([], ["--check"], ["--ensure"]):
        assert build_main(["--corpus", str(root), "--out", str(out), *extra]) == 2
        assert f"error: --out {out} is a file; give the index directory" in capsys.readouterr().err
    assert out.read_text("utf-8") == "x"


def test_search_command_json_and_text(tiny_index, client, capsys):
    assert main(["search", "忘记登录密码", "--index", str(tiny_index), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["results"][0]["id"] == "pw-login"
    # As /api/search gives them.
    assert body["results"][0]["related"] == [{"id": "pw-pay", "question": "忘记支付密码怎么办？", "category": "password"}]
    # The whole body is the API's, took_ms too, in the order of docs/api.md.
    api = client.get("/api/search?q=忘记登录密码&k=5").get_json()
    assert list(body) == list(api) == ["query", "results", "other_product", "other_product_ask", "took_ms", "index_version"]
    assert isinstance(body.pop("took_ms"), float) and body == {k: v for k, v in api.items() if k != "took_ms"}
    assert main(["search", "钱转错人了", "--index", str(tiny_index), "-k", "2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("1. 转账转错人了怎么办？") and "tr-wrong" in text


def test_the_search_command_answers_without_loading_the_compiled_loops(tiny_index, capsys, monkeypatch):
    # One question per process: loading Numba (≈ 0.5 s) would cost more than the NumPy form saves.
    from faq_search import search

    asked = []
    monkeypatch.setattr(search, "_kernels", lambda: asked.append(1))
    assert main(["search", "忘记登录密码", "--index", str(tiny_index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"] and asked == []
    search.Searcher.load(tiny_index).search("忘记登录密码")
    assert asked  # a server's (or any other) Searcher does use them


def test_without_a_query_each_line_of_input_is_a_question(tiny_index, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("忘记登录密码\n\n   \n钱转错人了\n"))
    assert main(["search", "--index", str(tiny_index), "--json", "-k", "1"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # one JSON line each
    assert [(a["query"], a["results"][0]["id"]) for a in answers] == [("忘记登录密码", "pw-login"), ("钱转错人了", "tr-wrong")]
    # As text, each answer after the question it answers, to pair them as the JSON lines pair.
    monkeypatch.setattr("sys.stdin", io.StringIO("推荐一部电影\n钱转错人了\n提现\n"))
    assert main(["search", "--index", str(tiny_index), "-k", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("问题：推荐一部电影\n没有找到匹配的答案 (no matching answer)\n\n问题：钱转错人了\n1. 转账转错人了怎么办？")
    assert "\n\n问题：提现\n1. 提现多久到账？" in text and text.count("问题：") == 3
    monkeypatch.setattr("sys.stdin", io.StringIO("密码\n钱转错人了\n"))
    assert main(["search", "--index", str(tiny_index), "--category", "zzz"]) == 2  # a bad filter ends it


def test_article_command_shows_what_the_api_gives_and_follows_a_former_id(app_factory, make_corpus, tmp_path,
                                                                           tiny_analyzer, capsys):
    from faq_search.feedback import FeedbackStore
    from tests.test_aliases import RENAMED

    index, data = tmp_path / "ix", tmp_path / "data"
    build_index(make_corpus(RENAMED), index, analyzer=tiny_analyzer)
    FeedbackStore(data / "feedback.sqlite3").add_vote("", "pw-pay", False)  # voted before the rename
    api = app_factory(index).test_client().get("/api/articles/pw-payment").get_json()
    args = ["--index", str(index), "--data-dir", str(data)]
    assert main(["article", "pw-payment", "pw-pay", *args, "--json"]) == 0  # several: one JSON line each
    # pw-pay: the API's 301, followed.
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [api, {**api, "moved_from": "pw-pay"}]

    assert main(["article", "pw-pay", "pw-login", *args]) == 0
    text = capsys.readouterr().out
    assert "\033[" not in text
    first, second = text.split("\n\n忘记登录密码怎么办？\n")
    assert first.startswith("pw-pay 已改名为 pw-payment（pw-pay 是它的曾用 ID）\n忘记支付密码怎么办？\n"
                            "   pw-payment · 密码 · #密码 #支付 · 更新 ")
    assert "   反馈     有帮助 0 · 没帮助 1\n   曾用 ID  pw-pay, password-pay\n" in first
    assert "   进入「我的 → 设置 → 安全中心 → 重置支付密码」" in first
    assert first.endswith("\n\n   相似问法\n   · 支付密码忘了\n   · 付款密码不记得了")
    assert second.startswith("   pw-login · 密码 · #密码 · 更新 ") and "曾用 ID" not in second
    assert second.endswith("\n   相关 忘记支付密码怎么办？ (pw-payment · 密码)\n")


def test_article_command_names_an_unknown_id_and_shows_the_others(tiny_index, tmp_path, capsys):
    args = ["--index", str(tiny_index), "--data-dir", str(tmp_path / "nowhere")]  # no feedback store here
    assert main(["article", "tr-wrogn", "wd-time", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: no article with id 'tr-wrogn' (did you mean 'tr-wrong'?)\n"
    assert captured.out.startswith("提现多久到账？\n   wd-time · ") and "反馈" not in captured.out
    assert main(["article", "nothing-like-it", "wd-time", *args, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: no article with id 'nothing-like-it'\n"
    bodies = list(map(json.loads, captured.out.splitlines()))  # an error line for the unknown id, in its place
    assert [(b["id"], b.get("feedback"), "error" in b) for b in bodies] == [("nothing-like-it", None, True),
                                                                          ("wd-time", None, False)]


def test_update_times_are_local_with_their_zone(make_corpus, tmp_path, tiny_analyzer, capsys, monkeypatch):
    import time

    root = make_corpus()
    for rel, updated in (("transfer/wrong-person.md", "2025-06-30T16:30:00+00:00"), ("withdraw/arrival.md", "2025-06-30")):
        path = root / "articles" / rel
        path.write_text(path.read_text("utf-8").replace("\n---\n", f"\nupdated: {updated}\n---\n", 1), "utf-8")
    build_index(root, tmp_path / "ix", analyzer=tiny_analyzer)
    capsys.readouterr()
    try:
        for zone, shown in (("Asia/Shanghai", "2025-07-01 00:30 UTC+8"), ("Asia/Kolkata", "2025-06-30 22:00 UTC+5:30"),
                            ("UTC", "2025-06-30 16:30 UTC"), ("America/St_Johns", "2025-06-30 14:00 UTC-2:30")):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            for argv in (["article", "tr-wrong"], ["search", "钱转错人了", "-k", "1"]):
                assert main([*argv, "--index", str(tmp_path / "ix")]) == 0
                assert f" · 更新 {shown}\n" in capsys.readouterr().out, (zone, argv)
        assert main(["article", "wd-time", "--index", str(tmp_path / "ix")]) == 0
        assert " · 更新 2025-06-30\n" in capsys.readouterr().out  # a date alone stays a date
    finally:
        monkeypatch.undo()
        time.tzset()  # the other tests' zone again


def test_a_version_published_between_two_questions_answers_the_second(make_corpus, tmp_path, tiny_analyzer, capsys,
                                                                      monkeypatch):
    root, out = make_corpus(), tmp_path / "index"
    build_index(root, out, analyzer=tiny_analyzer)
    first_version = read_current(out)
    lines = iter(["转错人了\n", "转错人了\n", ""])

    def readline():
        line = next(lines)
        if line and read_current(out) == first_version and capsys.readouterr().out:  # after the first answer
            path = root / "articles" / "transfer" / "wrong-person.md"
            path.write_text(path.read_text("utf-8").replace("转账转错人了怎么办？", "转账转错对象了怎么办？"), "utf-8")
            build_index(root, out, analyzer=tiny_analyzer)
        return line

    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(readline=readline, isatty=lambda: False))
    assert main(["search", "--index", str(out), "--json", "-k", "1"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["index_version"] == read_current(out) != first_version
    assert second["results"][0]["question"] == "转账转错对象了怎么办？"


def test_search_command_no_match_and_bad_category(tiny_index, capsys):
    # No match is a normal outcome, in text as with --json: 0 (2 is for a mistake in the call).
    assert main(["search", "推荐一部电影", "--index", str(tiny_index)]) == 0
    assert "没有找到匹配的答案" in capsys.readouterr().out
    assert main(["search", "推荐一部电影", "--index", str(tiny_index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"] == []
    assert main(["search", "密码", "--index", str(tiny_index), "--category", "zzz"]) == 2
    assert "unknown category" in capsys.readouterr().err


def test_an_empty_question_is_said_to_be_empty(tiny_index, capsys, monkeypatch):
    for query in ("", "   ", "？？！", "...", " ，。 \u200b"):
        for extra in ([], ["--json"]):
            assert main(["search", query, "--index", str(tiny_index), *extra]) == 2, query
            captured = capsys.readouterr()
            assert captured.err == "error: the question is empty (only spaces or punctuation): ask in words\n"
            # With --json the error a piped line gets, on stdout too.
            assert (json.loads(captured.out)["error"]["code"] if extra else captured.out) == (
                "missing_query" if extra else "")
    # One a line: said, and the next question is answered.
    monkeypatch.setattr("sys.stdin", io.StringIO("？？\n忘记登录密码\n"))
    assert main(["search", "--index", str(tiny_index), "--json", "-k", "1"]) == 2
    captured = capsys.readouterr()
    assert "the question is empty" in captured.err
    assert [json.loads(line)["query"] for line in captured.out.splitlines()] == ["？？", "忘记登录密码"]
    assert json.loads(captured.out.splitlines()[0])["error"]["code"] == "missing_query"


def test_a_question_longer_than_the_apis_limit_is_refused_as_the_api_refuses_it(tiny_index, client, capsys,
                                                                                monkeypatch):
    long = "忘记登录密码" * 33 + "怎么办"  # 201 characters
    assert client.get(f"/api/search?q={long}").get_json()["error"]["code"] == "query_too_long"  # FAQ_MAX_QUERY_CHARS
    for extra in ([], ["--json"]):
        assert main(["search", long, "--index", str(tiny_index), *extra]) == 2
        captured = capsys.readouterr()
        assert captured.err == ("error: the question is longer than 200 characters (201; FAQ_MAX_QUERY_CHARS, as for "
                                "the API): shorten it\n")
        # With --json the error a piped line gets, on stdout too.
        assert (json.loads(captured.out)["error"]["code"] if extra else captured.out) == (
            "query_too_long" if extra else "")
    assert main(["search", f"  {long[:200]} ", "--index", str(tiny_index), "--json"]) == 0  # spaces not counted
    assert json.loads(capsys.readouterr().out)["results"]
    # One a line: said in its place, and the next question is answered.
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{long}\n忘记登录密码\n"))
    assert main(["search", "--index", str(tiny_index), "--json", "-k", "1"]) == 2
    refused, answered = map(json.loads, capsys.readouterr().out.splitlines())
    assert refused["error"]["code"] == "query_too_long" and answered["results"][0]["id"] == "pw-login"
    monkeypatch.setenv("FAQ_MAX_QUERY_CHARS", "5")  # the server's setting, whatever it is
    assert main(["search", "忘记登录密码", "--index", str(tiny_index)]) == 2
    assert "longer than 5 characters (6;" in capsys.readouterr().err


def test_a_question_of_bytes_that_are_not_utf8_is_said_so(tiny_index, capsys, monkeypatch):
    # argv arrives decoded with surrogateescape: \xff\xfe as U+DCFF U+DCFE, which are no words.
    for query in ("\udcff\udcfe", "忘记\udcff密码"):
        assert main(["search", query, "--index", str(tiny_index), "--json"]) == 2, query
        captured = capsys.readouterr()
        assert captured.err.startswith("error: the question is not UTF-8 text (bytes \\xff")
        assert json.loads(captured.out)["error"]["code"] == "invalid_encoding"
    # Standard input with the strict decoding a UTF-8 locale gives it: said, and the next line answered.
    # With --json a line in its place, in the API's error shape, so that input and output lines pair up;
    # exit status 2 at the end, as `article` gives when one id of several names nothing.
    piped = "提现多久到账\n".encode() + b"\xff\xfe\xe5\x9d\x8f\n\n" + "忘记登录密码\n".encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(piped), encoding="utf-8"))
    assert main(["search", "--index", str(tiny_index), "--json", "-k", "1"]) == 2
    captured = capsys.readouterr()
    assert "error: the question is not UTF-8 text (bytes \\xff \\xfe are not UTF-8)" in captured.err
    answers = [json.loads(line) for line in captured.out.splitlines()]
    assert [a["query"] for a in answers] == ["提现多久到账", "\ufffd\ufffd坏", "忘记登录密码"]  # the blank line is no question
    assert answers[1] == {"query": "\ufffd\ufffd坏", "error": {
        "code": "invalid_encoding", "message": captured.err.splitlines()[0].removeprefix("error: ")}}
    assert "results" in answers[0] and "results" in answers[2]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(piped), encoding="utf-8"))
    assert main(["search", "--index", str(tiny_index), "-k", "1"]) == 2  # as text: the error on stderr alone
    captured = capsys.readouterr()
    assert "\ufffd" not in captured.out and captured.out.count("可信") == 2



@pytest.mark.parametrize("argv, said", [
    (["search", "提现", "--category", "\udcb8\udcc4"], "--category is not UTF-8 text (bytes \\xb8 \\xc4 are not UTF-8)"),
    (["search", "--tag", "\udcb8\udcc4"], "--tag is not UTF-8 text (bytes \\xb8 \\xc4 are not UTF-8)"),
    (["tags", "--category", "\udcb8\udcc4"], "--category is not UTF-8 text (bytes \\xb8 \\xc4 are not UTF-8)"),
    (["article", "\udcb8\udcc4"], "no article with id '\ufffd\ufffd': it is not UTF-8 text (bytes \\xb8 \\xc4 are not UTF-8)"),
])
def test_a_filter_or_id_of_bytes_that_are_not_utf8_is_said_so(shared_tiny_index, capsys, monkeypatch, argv, said):
    # 改 typed on a GBK terminal: a filter stopped with a traceback in OpenCC, an id was shown as \udcb8\udcc4.
    monkeypatch.setattr("sys.stdin", io.StringIO("提现\n"))
    assert main([*argv, "--index", str(shared_tiny_index)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {said}: set the terminal to UTF-8") and err.count("\n") == 1, err

def test_build_index_script_is_a_thin_entry(make_corpus, tmp_path):
    root, out = make_corpus(), tmp_path / "index"
    proc = subprocess.run([sys.executable, str(ROOT / "build_index.py"), "--corpus", str(root), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when not on a terminal
    assert read_current(out)


def test_search_shows_what_the_agent_console_shows_plain_when_piped(tiny_index, capsys):
    assert main(["search", "忘记支付密码", "--index", str(tiny_index), "-k", "2"]) == 0
    text = capsys.readouterr().out
    assert "\033[" not in text  # captured output is not a terminal: no colour
    lines = text.splitlines()
    assert lines[0].startswith("1. 忘记支付密码怎么办？") and "可信" in lines[0]
    assert lines[1].strip().startswith("pw-pay · 密码 · #密码 #支付 · 更新 ")
    assert re.search(r"匹配问法 .*支付密码.*（(标准问题|相似问法)）", text)
    assert re.search(r"匹配词 +支付密码 0\.\d{3}", text)
    assert "进入「我的 → 设置 → 安全中心 → 重置支付密码」" in text  # the first answer in full


def test_search_related_and_colour_when_asked(tiny_index, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # asked for explicitly, colour wins over it (no-color.org; README)
    assert main(["search", "忘记登录密码", "--index", str(tiny_index), "-k", "1", "--color", "always"]) == 0
    text = capsys.readouterr().out
    assert "\033[1;33m登录密码\033[0m" in text and "\033[32m" in text
    assert "忘记支付密码怎么办？" in text and "(pw-pay · 密码)" in text  # its related article, with its category
    assert main(["search", "忘记登录密码", "--index", str(tiny_index), "-k", "1", "--color", "never"]) == 0
    assert "\033[" not in capsys.readouterr().out


def _read_terminal(leader: int) -> bytes:
    """All that was written to a pseudo-terminal, read once its other end is closed; then closes it."""
    import os

    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the other end is closed: all read
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return b"".join(chunks)


def test_search_colour_on_a_terminal_unless_no_color(tiny_index):
    import os
    import pty

    def run(env_extra):
        # A pseudo-terminal, so stdout.isatty() is true as in a real shell.
        leader, follower = pty.openpty()
        # TERM as a terminal emulator sets it: CI may run with TERM=dumb or none.
        env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "TERM": "xterm-256color", **env_extra}
        proc = subprocess.run([sys.executable, "-m", "faq_search.cli", "search", "提现多久", "--index", str(tiny_index), "-k", "1"],
                              stdout=follower, stderr=subprocess.PIPE, env=env, cwd=ROOT, timeout=120)
        os.close(follower)
        assert proc.returncode == 0, proc.stderr
        return _read_terminal(leader).decode("utf-8", "replace")

    assert "\033[1m" in run({})
    assert "\033[" not in run({"NO_COLOR": "1"})
    assert "\033[" not in run({"TERM": "dumb"})  # an editor's shell buffer: escapes shown as text


def test_typed_questions_with_the_answers_to_a_file_get_no_prompt_in_them(tiny_index, tmp_path):
    import os
    import pty

    # A terminal as stdin and stderr, as an agent typing; stdout a file (> out.jsonl): the prompt goes to stderr.
    leader, follower = pty.openpty()
    os.write(leader, "转错人\n提现\n\x04".encode())  # Ctrl-D at the start of a line: end of input
    with open(tmp_path / "out.jsonl", "w") as out:
        proc = subprocess.run([sys.executable, "-m", "faq_search.cli", "search", "-k", "1", "--json", "--index",
                               str(tiny_index)], stdin=follower, stdout=out, stderr=follower, cwd=ROOT, timeout=120)
    os.close(follower)
    terminal = _read_terminal(leader).decode()
    assert proc.returncode == 0, terminal
    lines = (tmp_path / "out.jsonl").read_text("utf-8").split("\n")
    assert [json.loads(line)["results"][0]["id"] for line in lines[:-1]] == ["tr-wrong", "wd-time"] and lines[-1] == ""
    assert terminal.count("问题> ") == 3  # before each question and before Ctrl-D


def test_search_by_tag_and_unknown_tag(tiny_index, capsys):
    assert main(["search", "忘记密码", "--index", str(tiny_index), "--tag", "支付"]) == 0
    assert "pw-pay" in capsys.readouterr().out
    assert main(["search", "忘记密码", "--index", str(tiny_index), "--tag", "nope"]) == 2
    assert capsys.readouterr().err == ("error: unknown tag 'nope'; no tag is like it; the most used: 密码, 提现, 支付, 转账\n")
    # The tags like the typed one first, and how to see those not shown.
    assert main(["search", "忘记密码", "--index", str(tiny_index), "--tag", "提"]) == 2
    assert capsys.readouterr().err == "error: unknown tag '提'; did you mean 提现? (3 more: `faq-search tags` lists them all)\n"
    assert main(["search", "忘记密码", "--index", str(tiny_index), "--tag", "忘记支付密码"]) == 2
    assert "did you mean 密码, 支付? (2 more: " in capsys.readouterr().err
    assert main(["search", "忘记密码", "--index", str(tiny_index), "--category", "密"]) == 2
    assert capsys.readouterr().err == ("error: unknown category '密'; did you mean password (密码)? the categories: "
                                       "password (密码), transfer (转账), withdraw (提现) (`faq-search categories` "
                                       "lists them with their articles)\n")


def test_tags_command_lists_what_api_tags_gives(tiny_index, client, capsys):
    assert main(["tags", "--index", str(tiny_index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == client.get("/api/tags").get_json()
    assert main(["tags", "--index", str(tiny_index), "--category", "password"]) == 0
    assert capsys.readouterr().out == "    2  密码\n    1  支付\n"
    assert main(["tags", "--index", str(tiny_index), "--category", "nope"]) == 2
    assert "unknown category 'nope'; the categories: password (密码)" in capsys.readouterr().err


def test_tags_of_a_category_without_any_says_so_rather_than_nothing(make_corpus, tmp_path, tiny_analyzer, capsys):
    # A category listed before its articles are written printed nothing at all: no answer, no prompt back.
    from tests.conftest import TINY_CATEGORIES

    index = tmp_path / "ix"
    build_index(make_corpus(categories={**TINY_CATEGORIES, "app": "App 使用与境外"}), index, analyzer=tiny_analyzer)
    capsys.readouterr()
    assert main(["tags", "--index", str(index), "--category", "app"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "no tags: no article of app (App 使用与境外) has one\n"
    assert main(["tags", "--index", str(index), "--category", "app", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tags"] == []


def test_no_confident_answer_is_flagged(tiny_index, capsys):
    # One character is never confident (docs/api.md), whatever its score: said as the console says it,
    # not as a score below a threshold (the score is the reranker's, `confident` another model's).
    code = main(["search", "密", "--index", str(tiny_index)])
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert code == 0 and lines[0] == "没有可信的答案：以下结果未必回答这个问题，仅供参考。"
    assert re.fullmatch(r"1\. .+  \d\.\d{3} 不确定", lines[2]) and "阈值" not in text


def test_many_articles_gone_at_once_are_one_line():
    # A category's folder deleted: one warning listing the first ids, not a line per article.
    from faq_search.build import GONE_LISTED, renamed_or_deleted
    from faq_search.corpus import Article

    old = [Article(id=f"e{i}", question=f"问题{i}", answer="答", source=f"kb/articles/x/{i}.md:2") for i in range(30)]
    [warning] = renamed_or_deleted(old, old[25:], "v1", "kb")
    assert str(warning).startswith("kb:0: 25 articles of v1 are gone (e0, e1,")
    assert f"e{GONE_LISTED - 1}, …)" in warning.message and f"e{GONE_LISTED}," not in warning.message


def test_a_json_lines_corpus_builds_with_its_repeated_phrasings_warned_about(tmp_path, capsys):
    kb, out = tmp_path / "kb.jsonl", tmp_path / "index"
    rows = [{"id": "a", "question": "怎么提现", "answer": "在余额页点提现。"},
            {"id": "b", "question": "提现多久到账", "similar_questions": ["怎么提现？"], "answer": "两小时内。"}]
    kb.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    assert build_main(["--corpus", str(kb), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {kb}:2: '怎么提现？' of 'b' is also a phrasing of 'a' at {kb}:1: search cannot tell" in err
    assert err.count("warning:") == 1


def test_a_changed_article_that_kept_its_updated_date_is_warned_about(make_corpus, tmp_path, capsys):
    dated = {k: v for k, v in TINY_ARTICLES.items()}
    root = make_corpus(dated)
    path = root / "articles" / "transfer" / "wrong-person.md"
    path.write_text(path.read_text("utf-8").replace("category: transfer", "category: transfer\nupdated: 2026-01-05"), "utf-8")
    out = tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err

    # The answer changed, the date did not: published, with a warning at the `updated:` line.
    path.write_text(path.read_text("utf-8").replace("1到3个工作日", "1到5个工作日"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    line = path.read_text("utf-8").splitlines().index("updated: 2026-01-05") + 1
    assert f"warning: {path}:{line}: answer changed since" in err
    assert "'updated' still says 2026-01-05" in err and "bump it" in err
    assert err.count("warning:") == 1  # the other articles did not change

    # Phrasings count too; a bumped date silences it.
    path.write_text(path.read_text("utf-8").replace("  - 钱转错人了\n", "  - 钱转错人了\n  - 转错账了\n"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    assert "similar_questions changed since" in capsys.readouterr().err
    path.write_text(path.read_text("utf-8").replace("1到5个工作日", "1到3个工作日").replace("2026-01-05", "2026-02-01"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err



def test_an_article_renamed_without_an_alias_or_deleted_is_warned_about(make_corpus, tmp_path, capsys):
    root = make_corpus()
    out = tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    capsys.readouterr()

    # Renamed: the new id holds the old one's phrasings, so the warning names it, at its id line.
    path = root / "articles" / "transfer" / "wrong-person.md"
    path.write_text(path.read_text("utf-8").replace("id: tr-wrong", "id: transfer-wrong"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}:2: 'transfer-wrong' looks like 'tr-wrong' of v" in err
    assert "write 'aliases: [tr-wrong]' in it" in err and err.count("warning:") == 1

    # With the alias the rename is complete: nothing to say.
    path.write_text(path.read_text("utf-8").replace("id: transfer-wrong", "id: transfer-wrong\naliases: [tr-wrong]"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err

    # Deleted: said once, at the file it was in; the next build has nothing more to say.
    gone = root / "articles" / "withdraw" / "arrival.md"
    gone.unlink()
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {gone}:2: article 'wd-time' of v" in err and "is gone" in err and err.count("warning:") == 1
    (root / "articles" / "password" / "forgot-pay.md").write_text(
        (root / "articles" / "password" / "forgot-pay.md").read_text("utf-8").replace("六位", "6位"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    assert "is gone" not in capsys.readouterr().err

def test_no_updated_warning_when_the_date_already_says_today(make_corpus, tmp_path, capsys):
    # Edited twice on the day its date was bumped: there is nothing to bump it to.
    root, out = make_corpus(), tmp_path / "index"
    path = root / "articles" / "transfer" / "wrong-person.md"
    path.write_text(path.read_text("utf-8").replace("category: transfer", "category: transfer\nupdated: 2026-01-05"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    today = date.today().isoformat()
    path.write_text(path.read_text("utf-8").replace("2026-01-05", today).replace("1到3个工作日", "1到5个工作日"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    path.write_text(path.read_text("utf-8").replace("1到5个工作日", "1到7个工作日"), "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("built ") and "warning" not in captured.err


def _flip_byte(path, offset=20):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_check_with_a_broken_article_is_not_a_failed_build(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    (root / "articles" / "password" / "bad.md").write_text("---\nid: x\ncategory: password\n---\n答案\n", "utf-8")
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "bad.md:1: missing 'question'" in err and "build failed" not in err
    assert f"a build would fail; published index: {read_current(out)}" in err


def test_check_with_nothing_published_still_lists_the_corpus_problems(make_corpus, tmp_path, capsys):
    # An editor's first check, before any build: "no published index" alone hid the broken article.
    root, out = make_corpus(), tmp_path / "index"
    (root / "articles" / "password" / "bad.md").write_text("---\nid: x\ncategory: password\n---\n答案\n", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "bad.md:1: missing 'question'" in err and "a build would fail; published index: none yet" in err
    assert not out.exists()  # only checked
    (root / "articles" / "password" / "bad.md").unlink()
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    assert capsys.readouterr().err.strip() == f"no published index in {out}"


def _unreadable_manifest(how: str, manifest, monkeypatch) -> None:
    import pathlib

    if how == "corrupt JSON":
        manifest.write_text(manifest.read_text("utf-8")[:40], "utf-8")
    elif how == "missing":
        manifest.unlink()
    elif how == "a JSON list":
        manifest.write_text("[]", "utf-8")
    else:  # no permission (chmod means nothing to root, whom the tests may run as)
        read_text = pathlib.Path.read_text

        def refused(path, *args, **kwargs):
            if path == manifest:
                raise PermissionError(13, "Permission denied", str(path))
            return read_text(path, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, "read_text", refused)


@pytest.mark.parametrize("how", ["corrupt JSON", "missing", "a JSON list", "no permission"])
@pytest.mark.parametrize("kind", ["articles", "json lines"])
def test_check_lists_the_corpus_problems_when_the_published_manifest_is_unreadable(make_corpus, tmp_path, capsys,
                                                                                   monkeypatch, how, kind):
    # It said "published index … is unreadable" and nothing of the broken article a build would fail on.
    if kind == "articles":
        root, out = make_corpus(), tmp_path / "index"
        bad, where = root / "articles" / "password" / "bad.md", "bad.md:1: missing 'question'"
    else:
        from tests.test_incremental import entry, write

        root, out = tmp_path / "kb.jsonl", tmp_path / "index"
        write(root, [entry(i) for i in range(12)])
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    published = read_current(out)
    if kind == "articles":
        bad.write_text("---\nid: x\ncategory: password\n---\n答案\n", "utf-8")
    else:
        lines = root.read_text("utf-8").splitlines()
        root.write_text("\n".join([*lines[:4], '{"id": "x", "answer": ', *lines[4:]]) + "\n", "utf-8")
        where = f"{root.name}:5: "
    _unreadable_manifest(how, out / "versions" / published / "manifest.json", monkeypatch)
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert where in err and "Traceback" not in err, err
    assert f"a build would fail; published index: {published}, which is corrupt: unreadable manifest" in err, err
    # The corpus repaired: the manifest alone is said, as a reason to build.
    if kind == "articles":
        bad.unlink()
    else:
        root.write_text("\n".join(lines) + "\n", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"published index {published} is unreadable: manifest.json: ") and "Traceback" not in err
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure", "-q"]) == 0  # make run: rebuilt
    assert read_current(out) != published and "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("pointer", [None, b"", b"\xff\xfe"])
def test_check_names_a_pointer_that_names_no_version_rather_than_nothing_published(make_corpus, tmp_path, capsys,
                                                                                   pointer):
    # "no published index" while versions/ held the version every server kept serving.
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    published = read_current(out)
    if pointer is None:
        (out / "CURRENT").unlink()
    else:
        (out / "CURRENT").write_bytes(pointer)
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("the pointer CURRENT is ") and "no published index" not in err, err
    assert f"{published} is sound" in err and "roll back to it with" in err, err
    (root / "articles" / "password" / "bad.md").write_text("---\nid: x\ncategory: password\n---\n答案\n", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "bad.md:1: missing 'question'" in err and "none yet" not in err, err
    assert "a build would fail; published index: none: the pointer CURRENT is " in err, err
    assert f"{published} is sound" in err, err
    # make run's --ensure: a build fails, and what the pointer names is not served; it says why and what is.
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure", "-q"]) == 2
    err = capsys.readouterr().err
    assert "no index to serve: the pointer CURRENT is " in err and f"{published} is sound: roll back" in err, err


def test_a_mistyped_corpus_is_not_said_to_be_a_write_failure(make_corpus, tmp_path, capsys):
    # "corpus not found: x (writing under index)", and make run's "make it writable or free space there".
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    published, typo = read_current(out), tmp_path / "corpsu"
    capsys.readouterr()
    assert build_main(["--corpus", str(typo), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: corpus not found: {typo}: check the path (--corpus" in err and "writing under" not in err, err
    assert build_main(["--corpus", str(typo), "--out", str(out), "--ensure"]) == 0  # the published one serves
    err = capsys.readouterr().err
    # Not "older than corpsu": a corpus that is not there has no age, and the index may well be up to date.
    assert f"serving the published index {published} unchanged: {typo} was not found, so nothing was built" in err, err
    assert "older than" not in err and "writing under" not in err and "writable" not in err, err
    assert "free space" not in err, err


@pytest.mark.parametrize("damage", ["checksum", "gone"])
def test_check_of_a_refused_published_version_names_the_version_to_roll_back_to(make_corpus, tmp_path, capsys,
                                                                                damage):
    # It said the published version was corrupt (or its directory gone: a typo in a hand-written CURRENT) and no
    # more, where --ensure and the CLI's searches name the sound version servers fall back to, and the command.
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    sound = read_current(out)
    if damage == "checksum":
        shutil.copytree(out / "versions" / sound, out / "versions" / "v99990101T000000000000Z-broken00")
        _flip_byte(out / "versions" / "v99990101T000000000000Z-broken00" / "vocab.json")
    (out / "CURRENT").write_text("v99990101T000000000000Z-broken00\n", "utf-8")
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "published index v99990101T000000000000Z-broken00 is " in err, err
    command = re.search(rf"{sound} is sound: roll back to it with `([^`]+)`", err)[1]
    subprocess.run(["sh", "-c", command], check=True)
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 0


def test_ensure_builds_when_stale_and_keeps_serving_after_a_failed_build(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    bad = root / "articles" / "password" / "bad.md"
    bad.write_text("---\nid: x\ncategory: password\n---\n答案\n", "utf-8")
    # Nothing published yet: nothing to serve.
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure", "-q"]) == 2
    assert "no index to serve" in capsys.readouterr().err
    bad.unlink()
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure", "-q"]) == 0
    v1 = read_current(out)
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure"]) == 0  # fresh: no build
    assert read_current(out) == v1 and "up to date" in capsys.readouterr().out
    bad.write_text("---\nid: x\ncategory: password\n---\n答案\n", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure"]) == 0
    err = capsys.readouterr().err
    assert err.count("bad.md:1: missing 'question'") == 1  # once, not by the check and again by the build
    assert f"serving the published index {v1}, which is older than" in err
    assert read_current(out) == v1


def test_check_and_ensure_see_a_corrupt_published_version(make_corpus, tmp_path, capsys, caplog):
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    v1 = read_current(out)
    _flip_byte(out / "versions" / v1 / "meta.json")
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    assert f"published index {v1} is corrupt: checksum mismatch in meta.json" in capsys.readouterr().err
    caplog.clear()
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure"]) == 0
    # Said once, as the build refuses it (a logged warning), not by the check before it as well.
    said = capsys.readouterr().err + caplog.text
    assert said.count("checksum mismatch in meta.json") == 1, said
    v2 = read_current(out)
    assert v2 != v1 and build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 0
    # Corrupt and the corpus broken: nothing sound to serve, and the sound older version is named.
    _flip_byte(out / "versions" / v2 / "vocab.json")
    (root / "articles" / "password" / "bad.md").write_text("---\nid: x\n---\n答案\n", "utf-8")
    shutil.copytree(out / "versions" / v2, out / "versions" / "v00000000T000000000000Z-sound000")
    _flip_byte(out / "versions" / "v00000000T000000000000Z-sound000" / "vocab.json")  # flipped back: sound
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"no index to serve: {v2}: checksum mismatch in vocab.json" in err
    assert "v00000000T000000000000Z-sound000 is sound: roll back to it" in err
    # The command it gives works where the index is, pasted as it is, and renames a whole pointer into place.
    command = re.search(r"roll back to it with `([^`]+)`", err)[1]
    subprocess.run(["sh", "-c", command], cwd=tmp_path.parent, check=True)
    assert read_current(out) == "v00000000T000000000000Z-sound000" and "mv " in command
    assert not list(out.glob("CURRENT.*"))
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1  # sound, but stale: a build is due


def test_a_dictionary_file_that_is_not_utf8_is_path_line_message(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    for name in ("user_words.txt", "synonyms.txt"):
        good = (root / "dict" / name).read_bytes()
        (root / "dict" / name).write_bytes(good + "扫码付 100\n".encode("gbk"))
        assert build_main(["--corpus", str(root), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        line = good.count(b"\n") + 1
        assert f"dict/{name}:{line}: file is not valid UTF-8" in err and "Traceback" not in err
        assert "the published index is unchanged (none yet)" in err
        (root / "dict" / name).write_bytes(good)


def test_a_version_with_a_corrupt_dictionary_is_a_clear_error(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    (out / "versions" / read_current(out) / "dict" / "synonyms.txt").write_bytes("转账 转帐\n".encode("gbk"))
    assert main(["search", "转账", "--index", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "synonyms.txt:1: file is not valid UTF-8" in err


def test_a_mistyped_dict_is_an_error_and_a_missing_dict_dir_a_warning(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    for mode in ([], ["--check"], ["--ensure"]):
        assert build_main(["--corpus", str(root), "--out", str(out), "--dict", str(tmp_path / "nope"), *mode]) == 2
        assert f"dictionary directory not found: {tmp_path / 'nope'} (--dict)" in capsys.readouterr().err
    assert read_current(out) is None
    (root / "dict" / "synonyms.txt").unlink()
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    assert f"warning: no synonyms.txt in {root / 'dict'}: building without synonyms" in capsys.readouterr().err
    shutil.rmtree(root / "dict")
    assert build_main(["--corpus", str(root), "--out", str(out), "--ensure", "-q"]) == 0
    assert f"warning: no dictionary directory {root / 'dict'}: building without user words and synonyms" in \
        capsys.readouterr().err


@pytest.mark.parametrize("name", ["synonyms.txt", "user_words.txt"])
def test_a_directory_where_a_dictionary_file_belongs_is_one_error_without_a_missing_file_warning(
        make_corpus, tmp_path, capsys, name):
    # It warned "no synonyms.txt …: building without synonyms", then failed on that very path.
    root, out = make_corpus(), tmp_path / "index"
    (root / "dict" / name).unlink()
    (root / "dict" / name).mkdir()
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"error: {root / 'dict' / name}: Is a directory: a directory is where a file belongs: remove or rename " \
           "it" in err, err
    assert "warning" not in err and "building without" not in err, err
    assert read_current(out) is None


def test_search_on_a_terminal_that_cannot_show_every_character(make_corpus, tmp_path, tiny_analyzer, monkeypatch):
    withdraw = {**TINY_ARTICLES["withdraw/arrival.md"], "answer": "提现手续费0.1%，最低¥0.10，2小时内到账。"}
    root, out = make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": withdraw}), tmp_path / "index"
    build_index(root, out, analyzer=tiny_analyzer)

    def run(encoding, *extra):
        raw = io.BytesIO()
        stdout = io.TextIOWrapper(raw, encoding=encoding, write_through=True)
        monkeypatch.setattr("sys.stdout", stdout)
        code = main(["search", "提现多久到账", "--index", str(out), "-k", "1", *extra])
        stdout.flush()
        return code, raw.getvalue().decode(encoding)

    code, text = run("gbk")  # a zh_CN.GBK workstation: no ¥ in GBK
    assert code == 0 and "最低?0.10" in text
    code, text = run("ascii", "--json")
    assert code == 0 and json.loads(text)["results"][0]["answer"] == withdraw["answer"]


def test_search_k_below_one_is_an_argument_error(tiny_index, capsys):
    import pytest

    for k in ("0", "-3", "x"):
        with pytest.raises(SystemExit) as info:
            main(["search", "提现", "--index", str(tiny_index), "-k", k])
        assert info.value.code == 2
        assert "argument -k/--k" in capsys.readouterr().err


def test_search_k_above_the_servers_limit_is_refused_as_the_api_refuses_it(tiny_index, client, capsys, monkeypatch):
    assert client.get("/api/search?q=提现&k=51").get_json()["error"]["code"] == "invalid_k"  # FAQ_MAX_K 50
    assert client.get("/api/search?q=提现&k=50").status_code == 200
    for k, limit in (("51", None), ("31", "30")):
        if limit:
            monkeypatch.setenv("FAQ_MAX_K", limit)
        with pytest.raises(SystemExit) as info:
            main(["search", "提现", "--index", str(tiny_index), "-k", k])
        assert info.value.code == 2
        assert f"argument -k/--k: must be from 1 to {limit or 50} (FAQ_MAX_K" in capsys.readouterr().err
    assert main(["search", "提现", "--index", str(tiny_index), "-k", "3", "--json"]) == 0


@pytest.mark.parametrize("command", ["build", "search", "article", "tags", "categories", "eval", "confusions", "serve",
                                     "report"])
def test_every_option_says_what_it_does_and_its_default(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("PORT", "9123")  # the defaults shown are the environment's
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    options, section = {}, None
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            section = line
            continue
        entry = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if section in ("options:", "optional arguments:") and entry:
            current = entry.group(1)
            options[current] = entry.group(2) or ""
        elif section in ("options:", "optional arguments:") and line.startswith("    ") and options:
            options[current] += " " + line.strip()
    assert "--help" in " ".join(options) and len(options) > 2
    for invocation, helptext in options.items():
        assert helptext.strip(), f"{command} {invocation}: no help"
        if re.search(r"-\S+ [^-\s]", invocation):  # takes a value (a metavar, not another spelling)
            assert "default" in helptext, f"{command} {invocation}: no default in {helptext!r}"
    if command == "serve":
        assert "(default: 9123; PORT)" in options["--port PORT"]


def test_report_with_a_bad_html_path_or_data_dir_is_one_line(tiny_index, tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["report", "--data-dir", str(data), "--index", str(tiny_index)]) == 2
    assert capsys.readouterr().err == f"error: no data directory {data} (--data-dir, FAQ_DATA_DIR)\n"
    data.mkdir()
    assert main(["report", "--data-dir", str(data), "--index", str(tiny_index)]) == 0
    assert f"warning: no query log {data / 'queries.jsonl'}" in capsys.readouterr().err
    (data / "queries.jsonl").write_text("", "utf-8")
    bad = tmp_path / "nowhere" / "r.html"
    assert main(["report", "--data-dir", str(data), "--index", str(tiny_index), "--html", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: cannot write the HTML report: [Errno 2] No such file or directory")
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1 and captured.out == ""


def test_counts_below_one_and_missing_inputs_are_said_plainly(tiny_index, tmp_path, capsys):
    for args in (["confusions", "--limit", "-5"], ["confusions", "--top", "0"], ["report", "--top", "0"]):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--index", str(tiny_index)])
        assert exit_.value.code == 2 and "must be 1 or more" in capsys.readouterr().err
    assert main(["eval", "--index", str(tiny_index), "--queries", str(tmp_path / "none.jsonl")]) == 2
    assert f"no labelled queries at {tmp_path / 'none.jsonl'}" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    assert main(["report", "--data-dir", str(tmp_path / "data"), "--index", str(tmp_path / "none")]) == 0
    assert f"no published index in {tmp_path / 'none'}" in capsys.readouterr().err


def test_search_says_when_a_question_is_about_another_product(make_corpus, tmp_path, tiny_analyzer, capsys):
    root = make_corpus()
    (root / "scope.yml").write_text("ours: [易钱包]\nothers: [支付宝]\n", "utf-8")
    build_index(root, tmp_path / "ix", analyzer=tiny_analyzer)
    capsys.readouterr()
    assert main(["search", "支付宝的钱转错人了", "--index", str(tmp_path / "ix"), "--color", "never"]) == 0
    assert capsys.readouterr().out.startswith("这个问题看起来是关于「支付宝」的：这里只能解答易钱包的问题")
    assert main(["search", "支付宝的钱转错人了", "--index", str(tmp_path / "ix"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["other_product"] == "支付宝"
    assert main(["search", "钱转错人了", "--index", str(tmp_path / "ix"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["other_product"] is None
    (root / "scope.yml").write_text("ours: [易钱包]\nask:\n  发卡银行: [信用卡分期]\n", "utf-8")
    build_index(root, tmp_path / "ix2", analyzer=tiny_analyzer)
    capsys.readouterr()
    assert main(["search", "信用卡分期的钱转错人了", "--index", str(tmp_path / "ix2"), "--color", "never"]) == 0
    assert "这类问题请咨询发卡银行" in capsys.readouterr().out.replace("\n", "")
    assert main(["search", "信用卡分期的钱转错人了", "--index", str(tmp_path / "ix2"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["other_product_ask"] == "发卡银行"


def test_wrapped_answers_keep_punctuation_with_its_character():
    from faq_search.cli import _cells, _wrap

    text = "在「我的 → 客服中心」里提交「转错账申请」，附上转账截图和情况说明，我们会在 1–3 个工作日内联系收款人（协助沟通）。"
    for width in range(10, 41):
        lines = _wrap(text, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(sum(map(_cells, line)) <= width for line in lines), width
        assert not any(line[0] in "，。」）" for line in lines[1:]) and not any(line[-1] in "「（" for line in lines), (width, lines)



def test_an_amount_a_rate_or_a_range_is_never_cut_by_the_wrapping():
    # Read aloud from the terminal, "单笔 ¥50," then "000" on the next line was read as fifty yuan; the
    # knowledge base's answers were cut so at 230 places across the widths a terminal can have.
    from faq_search.cli import _answer_lines, _cells, _Style

    text = ("1. 完成实名认证：未实名账户余额上限 ¥1,000，最高可调到单笔 ¥50,000、每日 ¥200,000；提现收 0.1% 手续费，"
            "最低 ¥0.1，人工客服 8:00–22:00，一般 1–7 个工作日到账，风险等级 R1–R5")
    amounts = ["¥1,000，", "¥50,000、", "¥200,000；", "0.1%", "¥0.1，", "8:00–22:00，", "1–7", "R1–R5"]
    for width in range(40, 101):  # _width's range
        lines = _answer_lines(text, width, "   ", _Style(False))
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(sum(map(_cells, line)) <= width for line in lines), (width, lines)
        for amount in amounts:
            assert sum(amount in line for line in lines) == 1, (width, amount, lines)



@pytest.mark.parametrize("marker", ["1. ", "1.", "1、", "1、 ", "1）", "12. ", "- ", "• "])
def test_a_steps_lines_go_on_under_its_text_whatever_its_number_is_written_with(marker):
    # After 1.先 (no space) or 1、 先 (a wide 、 then a space) the lines went on a cell off the text.
    from faq_search.cli import _answer_lines, _Style, _text_cells

    step = "先联系对方：在「账单」中找到这笔转账，进入转账详情，点「联系对方」说明情况，请对方原路退还；"
    lines = _answer_lines(marker + step, 40, "   ", _Style(False))
    assert len(lines) > 2 and lines[0] == "   " + marker + lines[0][3 + len(marker):]
    text_at = 3 + _text_cells(marker)  # the cell the step's text starts at on its first line
    assert all(_text_cells(line) - _text_cells(line.lstrip(" ")) == text_at for line in lines[1:]), lines



def test_a_line_starting_with_a_decimal_number_is_no_step():
    # 0.1% read as step "0." then "1%": its lines went on two cells in, as under a step's text.
    from faq_search.cli import _answer_lines, _Style

    line = "0.1% 的手续费在提现时从到账金额中扣除，单笔最低 ¥0.1，每月前 ¥2,000 的提现免手续费，超出部分才收取。"
    lines = _answer_lines(line, 40, "   ", _Style(False))
    assert len(lines) > 2 and lines[0].startswith("   0.1% 的手续费")
    assert all(re.match(r"   \S", rest) for rest in lines[1:]), lines


MARKDOWN_ANSWER = ("**冻结期间**余额不会丢失。如发现异常，请在[安全中心](https://help.yiqianbao.com/security?from=faq&id=42)"
                   "操作。\n\n* **第一步**：打开 App\n* 别点[这里](javascript:alert(1))")


def test_an_answers_bold_and_links_are_shown_in_the_terminal(make_corpus, tmp_path, tiny_analyzer, capsys):
    articles = {**TINY_ARTICLES, "password/frozen.md": dict(
        id="pw-frozen", question="账户冻结了怎么办？", category="password", similar=["冻结了"], answer=MARKDOWN_ANSWER)}
    build_index(make_corpus(articles), tmp_path / "ix", analyzer=tiny_analyzer)
    args = ["--index", str(tmp_path / "ix"), "--data-dir", str(tmp_path / "data")]
    assert main(["article", "pw-frozen", *args]) == 0
    text = capsys.readouterr().out
    # Without colour, bold is its text; a link is "text URL", the URL whole on one line of the 80 cells,
    # spaced from 操作 as the console copies it: a chat app pasted into takes what touches a URL into it.
    assert "**" not in text and "[安全中心]" not in text and "\033[" not in text
    assert "   冻结期间余额不会丢失。如发现异常，请在安全中心\n   https://help.yiqianbao.com/security?from=faq&id=42 操作。\n" in text
    assert "\n   * 第一步：打开 App\n   * 别点[这里](javascript:alert(1))\n" in text  # no link but to a web page
    assert main(["article", "pw-frozen", *args, "--color", "always"]) == 0
    assert "   \033[1m冻结期间\033[0m余额" in capsys.readouterr().out
    # Search marks the words found inside bold too, and bold resumes after them.
    assert main(["search", "账户冻结了怎么办", *args[:2], "--color", "always", "-k", "1"]) == 0
    assert "   \033[1m\033[1;33m冻结\033[0m\033[1m期间\033[0m余额" in capsys.readouterr().out


def test_a_links_url_is_never_cut_by_the_wrapping():
    from faq_search.cli import _answer_lines, _cells, _Style

    url = "https://help.yiqianbao.com/a-b/c?x=1&y=%E5%86%BB#top"
    for width in range(24, 90):
        lines = _answer_lines(f"请在[安全 中心]({url})操作，或**打开 App**。", width, "", _Style(False))
        assert sum(url in line for line in lines) == 1, (width, lines)
        assert "".join(lines).replace(" ", "") == f"请在安全中心{url}操作，或打开App。"
        # Whitespace or a line's end on both sides of the URL, as the console copies it (plain_text).
        assert re.search(rf"(^|\s){re.escape(url)}(\s|$)", "\n".join(lines)), (width, lines)
        assert all(sum(map(_cells, line)) <= width for line in lines if url not in line), (width, lines)

def test_id_tag_and_related_lines_fold_at_the_terminal_width_between_items(make_corpus, tmp_path, tiny_analyzer,
                                                                            capsys, monkeypatch):
    from faq_search.cli import _cells

    long_id = "withdraw-arrival-time-on-working-days-weekends-holidays"  # wider than a 60-cell line after 相关
    wd = {**TINY_ARTICLES["withdraw/arrival.md"], "id": long_id, "related": ["pw-login"],
          "tags": ["提现", "到账时间", "处理中", "银行卡到账", "节假日到账", "工作日"]}
    login = {**TINY_ARTICLES["password/forgot-login.md"], "related": [long_id, "pw-pay"],
             "aliases": ["password-forgot-login-password-2024", "password-forgot-login-old"]}
    build_index(make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": wd, "password/forgot-login.md": login}),
                tmp_path / "ix", analyzer=tiny_analyzer)
    capsys.readouterr()

    def run(width, argv, color="never"):
        monkeypatch.setattr("faq_search.cli._width", lambda: width)
        assert main([*argv, "--index", str(tmp_path / "ix"), "--color", color]) == 0
        return capsys.readouterr().out

    def whole(text):  # ids, tags and dates: what must never be cut
        return sorted(t for t in re.findall(r"[^\s()·,]+", text) if "-" in t or t.startswith("#"))

    for argv in (["search", "提现多久", "-k", "1"], ["article", "pw-login"]):
        wide, narrow = run(200, argv), run(60, argv)
        assert max(map(len, wide.splitlines())) > 60  # else nothing to fold
        for line in narrow.splitlines():
            # Over 60 cells only for one item wider than the line, never cut.
            assert sum(map(_cells, line)) <= 60 or len(line.strip().lstrip("·(").split()) == 1, line
        assert whole(narrow) == whole(wide) and len(re.findall(r"更新 \d{4}-\d\d-\d\d \d\d:\d\d", narrow)) == 1
        assert re.sub(r"\033\[[\d;]*m", "", run(60, argv, "always")) == narrow  # the colours do not move a break
    assert f"\n        ({long_id}\n        · 提现)\n" in narrow  # overflowing alone, its category after it


@pytest.mark.parametrize("entry, prog", [(main, "faq-search"), (build_main, "build_index.py")])
def test_a_bad_setting_is_a_usage_error_naming_it_not_a_traceback(entry, prog, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("FAQ_MAX_K", "abc")
    args = ["search", "密码", "--index", str(tmp_path)] if entry is main else ["--out", str(tmp_path)]
    with pytest.raises(SystemExit) as stop:
        entry(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{prog}: error: ") and "FAQ_MAX_K='abc'" in err and "Traceback" not in err


@pytest.mark.parametrize("entry, prog", [(main, "faq-search"), (build_main, "build_index.py")])
@pytest.mark.parametrize("given, expected", [
    (["--watch", "--interval", "-1"], "argument --interval: must be a number of seconds over 0, not -1"),
    (["--watch", "--interval", "0"], "argument --interval: must be a number of seconds over 0, not 0"),  # a busy loop
    (["--watch", "--debounce", "nan"], "argument --debounce: must be a number of seconds 0 or more, not nan"),
    (["--watch", "--interval", "inf"], "argument --interval: must be a number of seconds over 0, not inf"),
    (["--interval", "5"], "--interval only applies with --watch"),  # ignored without a word before
    (["--check", "--debounce", "2", "--interval", "3"], "--interval and --debounce only apply with --watch"),
])
def test_a_watch_period_that_is_no_positive_number_or_given_without_watch_is_a_usage_error(
        entry, prog, given, expected, tmp_path, capsys):
    args = ["--corpus", str(tmp_path / "corpus"), "--out", str(tmp_path / "index"), *given]
    with pytest.raises(SystemExit) as stop:
        entry(["build", *args] if entry is main else args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"{prog} build: error: {expected}" if entry is main else \
        err.splitlines()[-1] == f"{prog}: error: {expected}", err
    assert not (tmp_path / "index").exists()


@pytest.mark.parametrize("inside", ["articles/x", "."])
def test_an_index_inside_the_corpus_is_a_usage_error_naming_both(make_corpus, inside, capsys):
    root = make_corpus()
    with pytest.raises(SystemExit) as stop:
        build_main(["--corpus", str(root), "--out", str(root / inside)])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"build_index.py: error: --out {root / inside} is inside the corpus {root}: give an index directory outside it")
    assert not (root / "articles" / "x").exists()


def test_files_not_read_are_capped_and_only_text_is_told_to_be_renamed(make_corpus, capsys, tmp_path):
    # A build's arrays left under articles/: no "rename it to x.md", and one line for all past ten.
    root = make_corpus({**TINY_ARTICLES, "password/notes.txt": "备忘\n"})
    arrays = root / "articles" / "withdraw" / "arrays"
    arrays.mkdir()
    for n in range(12):
        (arrays / f"a{n:02}.npy").write_bytes(b"\x93NUMPY\x01\x00" + bytes(40))
    assert build_main(["--corpus", str(root), "--out", str(tmp_path / "index")]) == 0
    warnings = [w for w in capsys.readouterr().err.splitlines() if "not read" in w]
    assert warnings[0] == f"warning: {root}/articles/password/notes.txt:1: not read: articles are *.md files (rename " \
                          "it to notes.md if it is one)"
    assert warnings[1] == f"warning: {arrays}/a00.npy:1: not read: articles are *.md files"
    assert warnings[10:] == [f"warning: {root}/articles:0: 3 more files not read (not *.md), such as {arrays}/a11.npy"]


@pytest.mark.parametrize("mode", [[], ["--ensure"]])
def test_a_failed_first_build_leaves_no_index_directory_behind(make_corpus, tmp_path, mode):
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": "no front matter\n"})
    out = tmp_path / "new" / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q", *mode]) == 2
    assert not (tmp_path / "new").exists()
    # A directory that was there before stays, as it was.
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("x", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out), "-q", *mode]) == 2
    assert (out / "keep.txt").exists()


def test_the_build_and_check_name_the_articles_changed_since_the_published_version(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    capsys.readouterr()
    arrival = root / "articles" / "withdraw" / "arrival.md"
    arrival.write_text(arrival.read_text("utf-8") + "周末照常到账。\n", "utf-8")
    (root / "articles" / "password" / "forgot-pay.md").unlink()
    (root / "articles" / "password" / "forgot-login.md").write_text(
        (root / "articles" / "password" / "forgot-login.md").read_text("utf-8").replace(
            "related: [pw-pay]", "tags: [登录]").replace("tags: [密码]\n", ""), "utf-8")
    for n in range(5):
        (root / "articles" / "password" / f"new{n}.md").write_text(
            f"---\nid: new-{n}\nquestion: 新问题{n}是什么？\ncategory: password\n---\n答{n}\n", "utf-8")
    said = ("changed: articles/password/forgot-login.md (tags, related), articles/withdraw/arrival.md (answer); "
            "added: articles/password/new0.md, articles/password/new1.md, articles/password/new2.md and 2 more; "
            "removed: articles/password/forgot-pay.md")
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    assert capsys.readouterr().err.strip().endswith(f"is stale: {said}")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"; {said}")


def test_check_names_the_dictionary_or_list_that_changed_when_no_article_did(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    synonyms = root / "dict" / "synonyms.txt"
    synonyms.write_text(synonyms.read_text("utf-8") + "到账 入账\n", "utf-8")
    (root / "popular.yml").write_text("- pw-login\n", "utf-8")
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "--check"]) == 1
    assert capsys.readouterr().err.strip().endswith("is stale: changed: dict/synonyms.txt, popular.yml")


def test_each_watch_line_starts_with_the_time(make_corpus, tmp_path, capsys):
    from faq_search.cli import _print_built, _print_failed
    from faq_search.corpus import CorpusError, Problem

    root, out = make_corpus(), tmp_path / "index"
    result = build_index(root, out)
    _print_built(result, quiet=False, stamp=True)
    _print_failed(CorpusError([Problem("a.md", 2, "missing 'id'")]), str(out), stamp=True)
    captured = capsys.readouterr()
    lines = [*captured.out.splitlines(), *captured.err.splitlines()]
    assert len(lines) == 3 and all(re.match(r"\d\d:\d\d:\d\d (built v|a\.md:2: missing|build failed: )", x) for x in lines), lines
    # And the warnings said before the first build: a corpus without a dictionary.
    from faq_search.cli import _warn_dictionary

    shutil.rmtree(root / "dict")
    _warn_dictionary(types.SimpleNamespace(corpus=str(root), dict_dir=None), stamp=True)
    warned = capsys.readouterr().err.splitlines()
    assert warned and all(re.match(r"\d\d:\d\d:\d\d warning: ", x) for x in warned), warned


@pytest.mark.parametrize("damage", ["a truncated array", "no pointer"])
def test_a_damaged_index_answers_from_the_newest_sound_version_as_the_server_would(damage, make_corpus, tmp_path,
                                                                                     capsys):
    root, out, older = make_corpus(), tmp_path / "index", "v00000000T000000000000Z-sound000"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    published = read_current(out)
    shutil.copytree(out / "versions" / published, out / "versions" / older)
    if damage == "no pointer":
        (out / "CURRENT").unlink()
    else:
        with open(out / "versions" / published / "arrays" / "answers.char.data.npy", "r+b") as f:
            f.truncate(100)
    sound = published if damage == "no pointer" else older  # the newest sound one
    for argv in (["search", "忘记登录密码", "--json"], ["article", "pw-login", "--json"], ["tags", "--json"]):
        assert main([*argv, "--index", str(out)]) == 0, argv
        captured = capsys.readouterr()
        assert json.loads(captured.out)["index_version"] == sound
        # One line: which version answers, why, and how to put things right.
        [warning] = captured.err.splitlines()
        why = "the pointer CURRENT is missing" if damage == "no pointer" else "checksum mismatch in arrays/answers.char"
        assert warning.startswith("warning: ") and why in warning and f"using {sound}" in warning
        assert "build_index.py" in warning and f"echo {sound} > " in warning
    assert main(["search", "忘记登录密码", "--index", str(out), "-k", "1"]) == 0 and "pw-login" in capsys.readouterr().out
    # No sound version left: the error as before.
    for version in {older, sound}:
        _flip_byte(out / "versions" / version / "meta.json")
    assert main(["search", "忘记登录密码", "--index", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "warning" not in err


def test_no_published_index_says_where_the_directory_comes_from(tmp_path, capsys):
    assert main(["search", "转账", "--index", str(tmp_path / "none")]) == 2
    assert "--index or FAQ_INDEX_DIR" in capsys.readouterr().err


def test_the_width_honours_columns_and_a_terminal_of_no_size_gets_80(monkeypatch):
    import os

    from faq_search.cli import _width

    monkeypatch.setattr(sys, "stdout", Terminal(fd=1))
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=1: os.terminal_size((120, 40)))
    monkeypatch.delenv("COLUMNS", raising=False)
    assert _width() == 100  # the terminal's, within 40-100
    monkeypatch.setenv("COLUMNS", "60")
    assert _width() == 60  # as shutil.get_terminal_size: COLUMNS first
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=1: os.terminal_size((0, 0)))  # a 0×0 pty
    assert _width() == 60
    monkeypatch.delenv("COLUMNS")
    assert _width() == 80
    monkeypatch.setenv("COLUMNS", "abc")
    assert _width() == 80


def test_output_piped_into_a_pager_is_as_wide_as_the_terminal_it_is_read_on(monkeypatch):
    import os

    from faq_search.cli import _width

    # `faq-search search … | less` on a 60-column terminal: shells do not export COLUMNS.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setattr(sys, "stderr", Terminal(fd=2))
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=1: os.terminal_size((60 if fd == 2 else 0, 40)))
    assert _width() == 60
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # > out.txt 2>&1: no terminal
    assert _width() == 80


def test_a_filter_is_read_as_search_reads_text_and_a_category_also_by_its_name(shared_tiny_index, capsys):
    index = ["--index", str(shared_tiny_index)]
    # 转帐 a synonym of the tag 转账, 轉賬 its traditional form; the category by id or name, any case, spaced,
    # or a synonym of its name, as the tag (--category 转帐 was refused where --tag 转帐 was taken).
    for given in (["--tag", "转帐"], ["--tag", "轉賬"], ["--tag", " 转账"], ["--category", "转账"], ["--category", "轉賬"],
                  ["--category", "TRANSFER"], ["--category", " transfer"], ["--category", "转帐"], ["--category", "轉帳"]):
        assert main(["search", "钱转错人了", "-k", "1", "--json", *index, *given]) == 0, given
        assert [r["id"] for r in json.loads(capsys.readouterr().out)["results"]] == ["tr-wrong"], given
    for category in ("转账", "转帐"):
        assert main(["tags", "--category", category, "--json", *index]) == 0
        assert [t["name"] for t in json.loads(capsys.readouterr().out)["tags"]] == ["转账"]
    assert main(["search", "钱转错人了", "--tag", "转错", *index]) == 2  # unknown: the helpful error as before
    assert capsys.readouterr().err.startswith("error: unknown tag '转错'; ")


@pytest.mark.parametrize("option", ["--tag", "--category"])
def test_a_filter_given_twice_is_a_usage_error(option, shared_tiny_index, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["search", "转账", "--index", str(shared_tiny_index), option, "转账", option, "密码"])
    assert exit_.value.code == 2 and f"{option} given twice (转账, 密码)" in capsys.readouterr().err


def test_nothing_found_within_a_filter_says_what_is_found_without_it(shared_tiny_index, capsys):
    index = ["--index", str(shared_tiny_index), "--color", "never"]
    assert main(["search", "忘记登录密码", "--category", "withdraw", *index]) == 0
    out = capsys.readouterr().out
    assert "没有找到匹配的答案" in out and re.search(r"\nnothing in 提现; \d+ answers? without it: drop --category\n", out)
    assert main(["search", "忘记登录密码", "--category", "withdraw", "--tag", "提现", *index]) == 0
    assert "nothing in 提现 and #提现; " in capsys.readouterr().out
    assert main(["search", "完全无关的东西啊", "--category", "withdraw", *index]) == 0  # nor without: nothing to add
    assert "nothing in" not in capsys.readouterr().out


def test_with_json_an_unknown_id_or_a_question_that_is_none_gets_an_error_line_in_its_place(shared_tiny_index,
                                                                                               capsys):
    assert main(["article", "pw-login", "nope", "pw-pay", "--json", "--index", str(shared_tiny_index)]) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("id") for line in lines] == ["pw-login", "nope", "pw-pay"]  # ids given and lines pair up
    assert lines[1]["error"]["code"] == "article_not_found" and "nope" in lines[1]["error"]["message"]
    assert main(["search", "？？", "--json", "--index", str(shared_tiny_index)]) == 2
    captured = capsys.readouterr()
    body = json.loads(captured.out)  # what a piped batch gets for that line
    assert body == {"query": "？？", "error": {"code": "missing_query", "message": body["error"]["message"]}}
    assert captured.err == f"error: {body['error']['message']}\n"


def test_ctrl_c_at_the_prompt_drops_the_line_and_ctrl_d_ends_the_session(shared_tiny_index):
    import os
    import pty
    import select
    import signal
    import time

    seen = b""

    def prompts(n: int, seconds: float = 120) -> str:
        """All written so far, once the prompt was written ``n`` times."""
        nonlocal seen
        end = time.monotonic() + seconds
        while seen.count("问题> ".encode()) < n and time.monotonic() < end:
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    seen += os.read(leader, 65536)
                except OSError:  # the process ended: nothing more to come
                    break
            elif proc.poll() is not None:
                break
        return seen.decode("utf-8", "replace")

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "faq_search.cli", "search", "-k", "1", "--color", "never", "--index",
                             str(shared_tiny_index)], stdin=follower, stdout=follower, stderr=follower, cwd=ROOT)
    os.close(follower)
    try:
        prompts(1)
        os.write(leader, "半截问".encode())
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        prompts(2)  # a fresh prompt: the session goes on
        assert proc.poll() is None
        os.write(leader, "转错人\n".encode())
        assert "tr-wrong" in prompts(3)
        os.write(leader, b"\x04")  # Ctrl-D: the end
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        os.close(leader)


def test_ctrl_c_while_an_answer_is_shown_at_the_prompt_stops_that_answer_not_the_session(shared_tiny_index, monkeypatch,
                                                                                         capsys):
    import faq_search.cli as cli

    real, calls = cli._answer, []

    def answer(*args, **kwargs):  # the first answer is long (--full): the agent stops it with Ctrl-C
        calls.append(args[1])
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr("sys.stdin", Terminal("提现\n转错人\n", fd=0))  # an agent at a terminal
    monkeypatch.setattr(cli, "_answer", answer)
    assert main(["search", "--index", str(shared_tiny_index), "-k", "1", "--color", "never"]) == 0
    out, err = capsys.readouterr()
    assert calls == ["提现", "转错人"] and "tr-wrong" in out and "已停止" in err


def test_an_article_id_pasted_into_search_says_how_to_read_that_article(shared_tiny_index, capsys):
    # The id's words (tr, wrong) rank articles on their own: the agent is told the command that shows it.
    args = ["--index", str(shared_tiny_index), "-k", "1", "--color", "never"]
    assert main(["search", "tr-wrong", *args]) == 0
    assert "「tr-wrong」是文章 id：它的答案用 faq-search article tr-wrong" in capsys.readouterr().out.replace("\n", "")
    assert main(["search", "转错人", *args]) == 0
    assert "是文章 id" not in capsys.readouterr().out


def test_ctrl_c_while_reading_a_piped_batch_stops_with_130(shared_tiny_index, monkeypatch, capsys):
    class Interrupted(io.StringIO):
        def readline(self, *args):
            raise KeyboardInterrupt

    monkeypatch.setattr("sys.stdin", Interrupted())
    assert main(["search", "--index", str(shared_tiny_index), "--json"]) == 130  # 128 + SIGINT, as a shell says it
    assert capsys.readouterr().out == ""



def test_every_line_of_a_hit_fits_the_terminal_each_word_with_its_weight(make_corpus, tmp_path, tiny_analyzer, capsys,
                                                                         monkeypatch):
    from faq_search.cli import _cells

    # A long question and phrasing, many words found: the lines that ran past a 60-cell terminal.
    long = {**TINY_ARTICLES["withdraw/arrival.md"], "question": "提现申请提交以后银行卡一直没有到账，提现多久到账？最晚几天？",
            "similar": ["提现以后银行卡一直没有到账要等几天才能到银行卡里面呀", "取现多久到"]}
    build_index(make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": long}), tmp_path / "ix", analyzer=tiny_analyzer)
    capsys.readouterr()

    def run(width, argv, color="never"):
        monkeypatch.setattr("faq_search.cli._width", lambda: width)
        assert main([*argv, "--index", str(tmp_path / "ix"), "--color", color]) == 0
        return capsys.readouterr().out

    for width in (40, 60):
        for argv in (["search", "提现以后银行卡一直没有到账要等多久", "-k", "1"], ["article", "wd-time"]):
            text = run(width, argv)
            assert [line for line in text.splitlines() if sum(map(_cells, line)) > width] == [], (width, argv, text)
            assert re.sub(r"\033\[[\d;]*m", "", run(width, argv, "always")) == text  # the colours do not move a break
    text = run(40, ["search", "提现以后银行卡一直没有到账要等多久", "-k", "1"])
    head = text.split("\n   wd-time")[0].splitlines()
    # The question continues under its text, its score and verdict together after it.
    assert len(head) > 1 and head[0].startswith("1. 提现") and all(line.startswith("   ") for line in head[1:])
    assert re.search(r"\S  0\.\d{3} (可信|不确定)$", head[-1])
    # Each word found stays on one line with its weight, the lines after the label's under its words.
    words = text.split("\n   匹配词")[1].split("\n   答案中出现")[0].split("\n   同义词")[0].split("\n\n")[0]
    lines = ("   匹配词" + words).splitlines()
    assert len(lines) > 1, lines
    assert all(re.fullmatch(r"(   匹配词   |            )\S+ 0\.\d{3}(  \S+ 0\.\d{3})*", line) for line in lines), lines


@pytest.mark.parametrize("option", [["--category", "zzz"], ["--tag", "转帐账"]])
def test_a_bad_filter_is_said_before_the_first_question_is_read(shared_tiny_index, capsys, monkeypatch, option):
    # At the prompt it was said only after the agent had typed the caller's question, and it ended the session.
    questions = io.StringIO("钱转错人了\n提现\n")
    monkeypatch.setattr("sys.stdin", questions)
    assert main(["search", "--index", str(shared_tiny_index), *option]) == 2
    captured = capsys.readouterr()
    assert questions.tell() == 0 and captured.out == ""
    assert captured.err.startswith(f"error: unknown {option[0][2:]} '{option[1]}'; ") and captured.err.count("\n") == 1


def test_at_the_prompt_the_pinyin_reader_is_built_while_the_first_question_is_typed(shared_tiny_index, capsys,
                                                                                       monkeypatch):
    import threading

    from faq_search.search import Searcher

    # Built at the first typo or pinyin question (忘记蜜码, tixian) it kept the agent waiting ≈ 0.7 s mid-call.
    built = threading.Event()
    build = Searcher._pinyin

    def spied(self):
        reader = build(self)
        built.set()
        return reader

    class Typing(Terminal):  # a terminal the agent types the first question into, taking a few seconds

        def readline(self, *args):
            if self.tell() == 0:
                ready_when_typed.append(built.wait(5))
            return super().readline(*args)

    ready_when_typed = []
    monkeypatch.setattr(Searcher, "_pinyin", spied)
    monkeypatch.setattr("sys.stdin", Typing("tixian\n", fd=0))
    assert main(["search", "--index", str(shared_tiny_index), "-k", "1", "--color", "never"]) == 0
    assert ready_when_typed == [True]
    assert "1. 提现多久到账？" in capsys.readouterr().out



def test_a_piped_file_saved_with_a_byte_order_mark_pairs_its_first_question(shared_tiny_index, capsys, monkeypatch):
    # Notepad's and Excel's "UTF-8 with BOM": the first line starts with U+FEFF, which is no part of it.
    piped = "\ufeff".encode() + "钱转错人了\r\n提现多久\r\n".encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(piped), encoding="utf-8"))
    assert main(["search", "--index", str(shared_tiny_index), "--json", "-k", "1"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["query"] for a in answers] == ["钱转错人了", "提现多久"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(piped), encoding="utf-8"))
    assert main(["search", "--index", str(shared_tiny_index), "-k", "1", "--color", "never"]) == 0
    assert capsys.readouterr().out.startswith("问题：钱转错人了\n")


def test_a_question_given_to_article_names_its_answer_and_the_search_command(shared_tiny_index, capsys):
    # An agent typing the caller's question where an id goes: told what it is, and where its answer is.
    assert main(["article", "钱转错人了", "--index", str(shared_tiny_index)]) == 2
    assert capsys.readouterr().err == ("error: no article with id '钱转错人了' (a question? its answer is 'tr-wrong' "
                                       "(转账转错人了怎么办？); search it with `faq-search search '钱转错人了'`)\n")
    assert main(["article", "pw-logn", "--index", str(shared_tiny_index)]) == 2  # a mistyped id: the close one
    assert capsys.readouterr().err == "error: no article with id 'pw-logn' (did you mean 'pw-login'?)\n"


def test_with_json_an_id_of_bytes_that_are_not_utf8_is_written_as_text(shared_tiny_index, capsys):
    # Written back as the raw bytes, the line was no UTF-8: a script's JSON reader stopped at it.
    assert main(["article", "\udcb8\udcc4", "pw-login", "--index", str(shared_tiny_index), "--json"]) == 2
    out = capsys.readouterr().out
    out.encode("utf-8")  # no lone surrogate left to write as a raw byte
    assert [json.loads(line).get("id") for line in out.splitlines()] == ["\ufffd\ufffd", "pw-login"]


@pytest.mark.parametrize("argv", [["search", "钱转错人了", "--json"], ["article", "pw-login"], ["tags"], ["categories"]])
def test_output_that_cannot_be_written_is_one_line_not_a_traceback(shared_tiny_index, capsys, monkeypatch, argv):
    import errno

    class FullDisk(io.StringIO):  # --json > out.jsonl on a full disk
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("sys.stdout", FullDisk())
    assert main([*argv, "--index", str(shared_tiny_index)]) == 1
    assert capsys.readouterr().err == "error: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("argv", [["search", "钱转错人了"], ["article", "pw-login"], ["tags"], ["categories"]])
def test_closed_standard_output_is_said_not_a_traceback_or_a_silent_success(shared_tiny_index, capsys, monkeypatch, argv):
    monkeypatch.setattr("sys.stdout", None)  # started with >&-: Python has no sys.stdout then
    assert main([*argv, "--index", str(shared_tiny_index)]) == 1
    assert capsys.readouterr().err == "error: cannot write the output: standard output is closed\n"


@pytest.mark.parametrize("argv, stdin, code, body_keys", [
    (["search", "钱转错人了", "--category", "nosuch"], "", "unknown_category", {"query", "error"}),
    (["search", "钱转错人了", "--tag", "nosuch"], "", "unknown_tag", {"query", "error"}),
    (["search", "钱转错人了", "--category", "\udcb8\udcc4"], "", "invalid_encoding", {"query", "error"}),
    (["search", "--category", "nosuch"], "钱转错人了\n", "unknown_category", {"error"}),  # said before any line is read
    (["search", "--tag", "\udcb8\udcc4"], "钱转错人了\n", "invalid_encoding", {"error"}),
    (["tags", "--category", "nosuch"], "", "unknown_category", {"error"}),
    (["tags", "--category", "\udcb8\udcc4"], "", "invalid_encoding", {"error"}),
])
def test_with_json_a_bad_filter_is_a_json_error_on_stdout_too(shared_tiny_index, capsys, monkeypatch, argv, stdin, code,
                                                              body_keys):
    # Only stderr had it: a script's json.loads(stdout) stopped at an empty string.
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main([*argv, "--json", "--index", str(shared_tiny_index)]) == 2
    captured = capsys.readouterr()
    body = json.loads(captured.out)
    assert set(body) == body_keys and body["error"] == {"code": code, "message": captured.err.removeprefix("error: ")[:-1]}
    if "query" in body:
        assert body["query"] == "钱转错人了"
    assert captured.err.count("\n") == 1  # the message itself, unchanged, on stderr


@pytest.mark.parametrize("argv, body", [
    (["search", "钱转错人了"], {"query": "钱转错人了"}),
    (["search"], {}),
    (["tags"], {}),
    (["categories"], {}),
    (["article", "pw-login"], {"id": "pw-login"}),
])
def test_with_json_an_index_that_cannot_be_loaded_is_a_json_error_on_stdout_too(tmp_path, capsys, monkeypatch, argv,
                                                                                 body):
    monkeypatch.setattr("sys.stdin", io.StringIO("钱转错人了\n"))
    assert main([*argv, "--json", "--index", str(tmp_path / "none")]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {**body, "error": {"code": "index_unavailable",
                                                          "message": captured.err.removeprefix("error: ")[:-1]}}
    # Several ids: a line for each, so that ids given and lines written still pair up.
    if argv[0] == "article":
        assert main(["article", "pw-login", "nope", "--json", "--index", str(tmp_path / "none")]) == 2
        assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["pw-login", "nope"]


def test_at_the_prompt_a_line_ending_in_a_byte_that_is_not_utf8_is_said_so_and_the_next_is_unaffected(shared_tiny_index):
    import os
    import pty
    import select
    import signal
    import time

    # A GBK lead byte typed last (a mis-set terminal): GNU readline held it, waiting for the rest of a
    # character, and put it at the start of the next question, which was refused in its place.
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "faq_search.cli", "search", "-k", "1", "--color", "never", "--index",
                             str(shared_tiny_index)], stdin=follower, stdout=follower, stderr=follower, cwd=ROOT)
    os.close(follower)
    seen = b""

    def prompts(n: int) -> str:
        nonlocal seen
        end = time.monotonic() + 120
        while seen.count("问题> ".encode()) < n and time.monotonic() < end and proc.poll() is None:
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break
        return seen.decode("utf-8", "replace")

    try:
        prompts(1)
        os.write(leader, "提现".encode() + b"\xc4\r")
        first = prompts(2)
        os.write(leader, "钱转错人了\r".encode())
        second = prompts(3)[len(first):]
        os.write(leader, "密码".encode() + b"\xe5\xbf" + b"abc\r")  # two of a character's three bytes, mid-line
        third = prompts(4)[len(first) + len(second):]
        os.write(leader, "提现".encode() + b"\xc4")  # given up with Ctrl-C: the byte goes with its line
        # Interrupted only once readline has the line (its echo): a Ctrl-C before it reads the bytes would
        # leave them to the next line, as a loaded machine showed (0.5 s was not always enough).
        end = time.monotonic() + 60
        while not seen.endswith("提现".encode()) and time.monotonic() < end:
            if select.select([leader], [], [], 0.5)[0]:
                seen += os.read(leader, 65536)
        time.sleep(0.2)  # the lone byte after the echo, read by readline before the interrupt
        proc.send_signal(signal.SIGINT)
        prompts(5)
        os.write(leader, "钱转错人了\r".encode())
        fifth = prompts(6)[len(first) + len(second) + len(third):]
        os.write(leader, b"\x04")
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        os.close(leader)
    assert "error: the question is not UTF-8 text (bytes \\xc4 are not UTF-8)" in first and "可信" not in first
    assert "error" not in second and "tr-wrong" in second
    assert "error: the question is not UTF-8 text (bytes \\xe5 \\xbf are not UTF-8)" in third
    assert "error" not in fifth and "tr-wrong" in fifth


@pytest.mark.parametrize("argv, code", [
    (["search", "钱转错人了", "-k", "0"], "invalid_k"),  # the API's codes: ?k=0, ?tag=a&tag=b
    (["search", "钱转错人了", "--tag", "转账", "--tag", "提现"], "invalid_tag"),
    (["search", "钱转错人了", "--color", "sometimes"], "invalid_color"),
    (["search", "钱转错人了", "--nope"], "invalid_arguments"),
    (["article"], "invalid_arguments"),
    (["tags", "--category", "a", "--category", "b"], "invalid_category"),
    (["categories", "--color", "sometimes"], "invalid_color"),
    (["categories", "password"], "invalid_arguments"),
])
def test_with_json_a_usage_error_is_a_json_error_on_stdout_too(shared_tiny_index, capsys, argv, code):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--index", str(shared_tiny_index), "--json"])
    captured = capsys.readouterr()
    assert exit_.value.code == 2 and captured.err.startswith("usage: ")  # argparse's usage and message, as before
    body = json.loads(captured.out)
    assert body == {"error": {"code": code, "message": body["error"]["message"]}}
    assert captured.err.endswith(f": error: {body['error']['message']}\n") and captured.out.count("\n") == 1
    with pytest.raises(SystemExit):  # without --json, stdout stays empty
        main([*argv, "--index", str(shared_tiny_index)])
    assert capsys.readouterr().out == ""


def test_a_piped_questions_control_characters_are_shown_not_sent_to_the_terminal(shared_tiny_index, capsys, monkeypatch):
    # A batch of questions copied from chat logs: an escape sequence in one cleared the agent's screen
    # (\x1b[2J) or retitled the window when its heading was printed.
    monkeypatch.setattr("sys.stdin", io.StringIO("\x1b[2J提现多久\n\x1b]0;x\x07钱转错人了\n"))
    assert main(["search", "--index", str(shared_tiny_index), "-k", "1", "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "问题：\\x1b[2J提现多久\n1. 提现多久到账？" in out and "问题：\\x1b]0;x\\x07钱转错人了\n" in out
    assert "\x1b" not in out and "\x07" not in out
    monkeypatch.setattr("sys.stdin", io.StringIO("\x1b[2J提现多久\n"))
    assert main(["search", "--index", str(shared_tiny_index), "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["query"] == "\x1b[2J提现多久"  # the JSON holds it as it came
    # An id or a filter echoed in an error: from a script's list, as likely to hold one.
    for argv in (["article", "\x1b[2Jpw-login"], ["search", "提现", "--tag", "\x1b[2J"], ["tags", "--category", "\x1b[2J"]):
        assert main([*argv, "--index", str(shared_tiny_index)]) == 2
        err = capsys.readouterr().err
        assert "'\\x1b[2J" in err and "\x1b" not in err, err


def test_paths_and_arguments_are_shown_with_their_control_characters_written_out(
        shared_tiny_index, make_corpus, tmp_path, capsys, monkeypatch):
    # A directory named by a script or pasted from a chat: --index, --out, --corpus or --data-dir holding an
    # escape sequence was echoed as it was in the command's messages, and cleared the screen or retitled the window.
    escape = "\x1b]0;owned\x07\x1b[2J"
    odd, corpus, data = tmp_path / f"ix{escape}", make_corpus(), tmp_path / "data"
    data.mkdir()
    fallen_back = tmp_path / f"fallen{escape}"  # the pointer lost: the newest sound version serves, with a warning
    shutil.copytree(shared_tiny_index, fallen_back)
    (fallen_back / "CURRENT").unlink()
    a_file = tmp_path / f"file{escape}"
    a_file.write_text("")
    for argv, status in [
        (["search", "提现", "--index", str(odd)], 2),
        (["search", "提现", "--index", str(fallen_back), "--color", "never"], 0),
        (["article", "wd-time", "--index", str(fallen_back), "--color", "never"], 0),
        (["report", "--data-dir", str(odd)], 2),
        (["report", "--data-dir", str(data), "--index", str(odd)], 0),
        (["build", "--check", "--corpus", str(corpus), "--out", str(odd)], 1),
        (["build", "--ensure", "--corpus", str(odd), "--out", str(odd)], 2),
        (["build", "--corpus", str(corpus), "--out", str(a_file)], 2),
        (["build", "--corpus", str(corpus), "--out", str(corpus / f"ix{escape}")], "usage"),
        (["search", "提现", f"--{escape}"], "usage"),
    ]:
        if status == "usage":
            with pytest.raises(SystemExit) as exit_:
                main(argv)
            assert exit_.value.code == 2
        else:
            assert main(argv) == status, argv
        out, err = capsys.readouterr()
        assert "\\x1b]0;owned\\x07\\x1b[2J" in err, (argv, err)
        assert "\x1b" not in out + err and "\x07" not in out + err, (argv, out, err)
    # The defaults --help shows come from the environment.
    monkeypatch.setenv("FAQ_INDEX_DIR", str(odd))
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    out = capsys.readouterr().out
    assert "\\x1b]0;owned" in out and "\x1b" not in out and "\n  --index INDEX" in out


@pytest.mark.parametrize("command", ["search", "article", "tags", "categories"])
def test_the_commands_scripts_run_say_their_exit_statuses_and_json_errors(command, capsys):
    # `tags --help` said neither when it exits 2 nor what --json writes then.
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 " in text and " 2 " in text and "with --json" in text and '"error"' in text


def test_eval_and_confusions_with_json_refuse_in_json_too(shared_tiny_index, tmp_path, capsys):
    # As search, article and tags: a CI script's json.loads(stdout) met an empty string.
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(json.dumps({"query": "钱转错人了", "expected": "gone-article"}) + "\n", "utf-8")
    index = ["--index", str(shared_tiny_index), "--json"]
    for argv, code in ((["eval", "--queries", str(tmp_path / "none.jsonl"), *index], "invalid_queries"),
                       (["eval", "--queries", str(labelled), *index], "invalid_queries"),
                       (["eval", "--queries", str(labelled), "--index", str(tmp_path / "none"), "--json"],
                        "index_unavailable"),
                       (["confusions", "--article", "nope", *index], "article_not_found"),
                       (["confusions", "--index", str(tmp_path / "none"), "--json"], "index_unavailable")):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        body = json.loads(captured.out)
        assert body == {"error": {"code": code, "message": body["error"]["message"]}}, argv
        assert f"error: {body['error']['message']}\n" in captured.err


def test_categories_command_lists_what_api_categories_gives(tiny_index, client, capsys):
    # There was no command: an agent saw the categories only in an unknown category's error.
    assert main(["categories", "--index", str(tiny_index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == client.get("/api/categories").get_json()
    assert main(["categories", "--index", str(tiny_index)]) == 0
    # Columns aligned in terminal cells (a Chinese character is two), in display order, counts right-aligned.
    assert capsys.readouterr().out == ("ID        名称  文章\n"
                                       "password  密码     2\n"
                                       "transfer  转账     1\n"
                                       "withdraw  提现     1\n")


def test_categories_table_aligns_names_of_any_width_and_a_category_without_articles(make_corpus, tmp_path,
                                                                                   tiny_analyzer, capsys):
    from tests.conftest import TINY_CATEGORIES

    index = tmp_path / "ix"
    build_index(make_corpus(categories={**TINY_CATEGORIES, "app": "App 使用与境外"}), index, analyzer=tiny_analyzer)
    capsys.readouterr()
    assert main(["categories", "--index", str(index)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "app       App 使用与境外     0"
    assert lines[0] == "ID        名称" + " " * 12 + "文章"  # 名称 padded to App 使用与境外's 14 cells, then 2
    assert lines[1] == "password  密码" + " " * 15 + "2"


def test_categories_colour_follows_the_rules_of_the_other_commands(shared_tiny_index, capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for env, colour in (({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)):
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            terminal = Terminal()
            m.setattr("sys.stdout", terminal)
            assert main(["categories", "--index", str(shared_tiny_index)]) == 0
        assert ("\033[" in terminal.getvalue()) is colour, env
        assert "password" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["categories", "--index", str(shared_tiny_index), "--color", "always"]) == 0
    assert "\033[" in capsys.readouterr().out
    assert main(["categories", "--index", str(shared_tiny_index), "--color", "never"]) == 0
    assert "\033[" not in capsys.readouterr().out


def test_an_unknown_category_points_to_the_categories_command(shared_tiny_index, capsys):
    for argv in (["search", "提现", "--category", "密"], ["search", "提现", "--category", "nope"],
                 ["tags", "--category", "nope"]):
        assert main([*argv, "--index", str(shared_tiny_index)]) == 2
        assert "`faq-search categories`" in capsys.readouterr().err, argv


def test_a_build_failing_on_a_file_says_which_and_what_to_do(make_corpus, tmp_path, capsys):
    # It said `build failed: PermissionError` (or FileNotFoundError, FileExistsError): the class, not the path
    # nor what to do about it.
    from tests.conftest import read_only_directory

    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    published = read_current(out)
    (root / "articles" / "password" / "forgot-pay.md").write_text(
        (root / "articles" / "password" / "forgot-pay.md").read_text("utf-8") + "更多说明。\n", "utf-8")
    capsys.readouterr()
    with read_only_directory(out):  # a replica's directory, say, or one owned by another user
        assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    # The file it could not write (the lock, or the pointer: the version is written in versions/, left writable).
    assert re.search(rf"error: {re.escape(str(out))}/\S+: (Permission denied|Operation not permitted): make "
                     rf"{re.escape(str(out))} and what it holds writable by the user running the build", err), err
    assert f"build failed: {out}/" in err and f"the published index is unchanged ({published})" in err, err
    assert "Error;" not in err and read_current(out) == published
    # A missing corpus, and a file where the index keeps a directory.
    assert build_main(["--corpus", str(tmp_path / "corpsu"), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"build failed: corpus not found: {tmp_path / 'corpsu'}; the published index" in err, err
    assert "check the path (--corpus, --dict, --out)" in err and "FileNotFoundError" not in err, err
    shutil.rmtree(out / "cache")
    (out / "cache").write_text("", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'cache'}: File exists: a file is where a directory belongs: remove or rename it" in err, err
    assert "FileExistsError" not in err and read_current(out) == published


@pytest.mark.parametrize("out_name", ["index", "deploy/index"])
def test_a_build_that_cannot_create_its_index_directory_names_the_parent(make_corpus, tmp_path, capsys, out_name):
    # It said "make <out> and what it holds writable": a directory that is not there, when its parent refuses.
    from tests.conftest import read_only_directory

    root, parent = make_corpus(), tmp_path / "readonly"
    parent.mkdir()
    out = parent / out_name
    with read_only_directory(parent):
        assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert re.search(rf"error: {re.escape(str(parent))}/\S+: (Permission denied|Operation not permitted): {re.escape(str(out))} "
                     rf"cannot be created: make {re.escape(str(parent))} writable by the user running the build \(", err), err
    assert "what it holds writable" not in err and not out.exists(), err


def test_a_build_failing_on_an_unreadable_corpus_file_names_it(make_corpus, tmp_path, capsys, monkeypatch):
    from faq_search import analysis

    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    published = read_current(out)
    synonyms = root / "dict" / "synonyms.txt"
    synonyms.write_text(synonyms.read_text("utf-8") + "到账 入账\n", "utf-8")
    real = analysis.load_synonyms

    def unreadable(path, *args, **kwargs):  # root reads a file of mode 000: the error a build's user gets
        if Path(path) == synonyms:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(analysis, "load_synonyms", unreadable)
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"error: {synonyms}: Permission denied: make it readable by the user running the build (" in err, err
    assert f"build failed: {synonyms}: Permission denied; the published index is unchanged ({published})" in err, err
    assert read_current(out) == published


def test_a_build_failing_on_a_bug_says_so_and_keeps_the_published_index(make_corpus, tmp_path, capsys, monkeypatch):
    # An exception neither the corpus's nor the file system's escaped as a bare traceback (exit 1), and
    # make run's --ensure stopped with it, though a sound version was published.
    from faq_search import build as build_module

    root, out = make_corpus(), tmp_path / "index"
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 0
    published = read_current(out)
    (root / "popular.yml").write_text("- pw-login\n", "utf-8")

    def broken(*args, **kwargs):
        raise ValueError("zero-size array to reduction operation maximum which has no identity")

    monkeypatch.setattr(build_module, "build_index", broken)
    capsys.readouterr()
    assert build_main(["--corpus", str(root), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err, err
    assert ("error: unexpected ValueError in the builder: zero-size array to reduction operation maximum which has no "
            "identity (a bug: report it with the traceback above)") in err, err
    assert err.rstrip().endswith(f"the published index is unchanged ({published})"), err
    assert build_main(["--corpus", str(root), "--out", str(out), "-q", "--ensure"]) == 0
    assert f"serving the published index {published}, which is older than {root}: fix the error above" in \
        capsys.readouterr().err
    assert read_current(out) == published
