"""POST bodies: json_body(schema) on a test-only route, and the body size limit."""

import io
import json

import pytest

from faq_search.web.schema import Field, json_body
from tests.conftest import assert_error, build_app

SCHEMA = {
    "query": Field(str, max_length=10),
    "helpful": Field(bool),
    "n": Field(int, required=False, default=3, min_value=1, max_value=5),
}


@pytest.fixture(scope="module")
def echo(shared_tiny_index, tiny_analyzer, tmp_path_factory):
    app = build_app(shared_tiny_index, tmp_path_factory.mktemp("data"), tiny_analyzer, FAQ_MAX_BODY_BYTES=100_000)
    app.add_url_rule("/test/echo", "echo", lambda: json_body(SCHEMA), methods=["POST"])
    return app.test_client()


def post(client, data, content_type="application/json"):
    if not isinstance(data, (bytes, str)):
        data = json.dumps(data)
    return client.post("/test/echo", data=data, content_type=content_type)


def test_a_valid_body_comes_back_with_defaults(echo):
    r = post(echo, {"query": "忘记密码", "helpful": False})
    assert r.status_code == 200
    assert r.get_json() == {"query": "忘记密码", "helpful": False, "n": 3}
    assert post(echo, {"query": "x", "helpful": True, "n": 5}).get_json()["n"] == 5


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"helpful": True}, "'query' is required"),
        ({"query": "x", "helpful": True, "extra": 1}, "unknown field 'extra'"),
        ({"query": "x", "helpful": 1}, "'helpful' must be true or false"),
        ({"query": "x", "helpful": "true"}, "'helpful' must be true or false"),
        ({"query": 5, "helpful": True}, "'query' must be a string"),
        ({"query": ["x"], "helpful": True}, "'query' must be a string"),
        ({"query": {"$gt": ""}, "helpful": True}, "'query' must be a string"),
        ({"query": "x", "helpful": True, "n": True}, "'n' must be an integer"),
        ({"query": "x", "helpful": True, "n": 2.5}, "'n' must be an integer"),
        ({"query": "x", "helpful": True, "n": 99}, "'n' must be from 1 to 5"),
        ({"query": "x", "helpful": True, "n": -10**30}, "'n' must be from 1 to 5"),
        ({"query": "太长" * 6, "helpful": True}, "longer than 10"),
        ([1, 2], "must be a JSON object"),
        ('"just a string"', "must be a JSON object"),
        (None, "must be a JSON object"),
        (b"", "a JSON object body is required"),
    ],
)
def test_schema_violations_are_400_invalid_body(echo, body, needle):
    r = post(echo, body)
    assert needle in assert_error(r, 400, "invalid_body")["error"]["message"]


def test_lone_surrogates_are_refused_not_stored(echo):
    # Valid JSON, but no UTF-8 text: writing it to SQLite or a log later would fail.
    assert_error(post(echo, b'{"query": "\\ud800", "helpful": true}'), 400, "invalid_body")
    r = post(echo, b'{"\\udcff": 1, "query": "x", "helpful": true}')
    assert_error(r, 400, "invalid_body")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"{'query': 'x'}",
        b'{"query": "\xff\xfe", "helpful": true}',
        b"[" * 20_000 + b"]" * 20_000,  # deeper than Python's parser recursion allows
        b'{"query": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
    ],
)
def test_unparsable_bodies_are_400_invalid_json(echo, raw):
    assert_error(post(echo, raw), 400, "invalid_json")


def test_moderately_nested_json_is_a_type_error(echo):
    body = {"query": "x", "helpful": True, "n": json.loads("[" * 50 + "]" * 50)}
    assert_error(post(echo, body), 400, "invalid_body")


def test_nan_and_infinity_are_not_numbers(app_factory, shared_tiny_index):
    app = app_factory(shared_tiny_index)
    app.add_url_rule("/test/num", "num", lambda: json_body({"x": Field(float)}), methods=["POST"])
    client = app.test_client()
    for raw in (b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}'):
        assert_error(client.post("/test/num", data=raw, content_type="application/json"), 400, "invalid_body")
    assert client.post("/test/num", data=b'{"x": 1}', content_type="application/json").get_json() == {"x": 1}


def test_other_content_types_are_415(echo):
    assert_error(post(echo, "query=x", content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type")
    assert_error(post(echo, '{"query": "x", "helpful": true}', content_type="text/plain"), 415, "unsupported_media_type")
    r = post(echo, {"query": "x", "helpful": True}, content_type="application/json; charset=utf-8")
    assert r.status_code == 200


def test_bodies_over_the_limit_are_413_json(echo):
    assert_error(post(echo, b'{"query": "' + b"x" * 200_000 + b'"}'), 413, "too_large")


def test_bodies_over_the_limit_are_413_without_content_length(echo):
    # Chunked uploads announce no length; the limit still applies while reading.
    r = echo.post("/test/echo", input_stream=io.BytesIO(b"[" + b"1," * 100_000 + b"1]"),
                  content_type="application/json", headers={"Transfer-Encoding": "chunked"},
                  environ_overrides={"wsgi.input_terminated": True})  # as gunicorn sets it for chunked bodies
    assert_error(r, 413, "too_large")
