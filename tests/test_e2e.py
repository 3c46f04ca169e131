"""End to end: real gunicorn (2 workers, preloaded) on a free port, queried over HTTP."""

import urllib.parse

import pytest

from tests.conftest import http_get, running_gunicorn

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(real_index, tmp_path):
    with running_gunicorn(real_index, tmp_path) as (base, _proc, _log):
        yield base


def get(url: str):
    return http_get(url)


def test_real_server_answers_the_password_question_first(server):
    for q in ("忘记登录密码了怎么办", "忘記登錄密碼了怎麼辦", "忘记登录密码了怎么办？"):
        status, body = get(server + "/api/search?" + urllib.parse.urlencode({"q": q}))
        assert status == 200
        assert body["results"][0]["id"] == "password-forgot-login-password"


def test_real_server_errors_are_json(server):
    status, body = get(server + "/api/search?q=")
    assert status == 400 and body["error"]["code"] == "missing_query"
    status, body = get(server + "/nope")
    assert status == 404 and body["error"]["code"] == "not_found"
