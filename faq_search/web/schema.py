"""JSON request bodies: parse defensively and check them against a small schema.

    FEEDBACK = {"query": Field(str, max_length=200), "article_id": Field(str, max_length=100),
                "helpful": Field(bool)}
    body = json_body(FEEDBACK)          # a dict with exactly the schema's keys, or an ApiError (4xx)
    body = form_body(FEEDBACK)          # the same from an HTML form's fields (pages without JavaScript)

A schema is a flat mapping of field name → Field: bodies are small objects, and anything nested is
rejected as the wrong type, so no recursion happens after parsing. The size limit is Flask's
MAX_CONTENT_LENGTH (413 `too_large`, raised while the body is read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import ApiError

__all__ = ["Field", "form_body", "json_body"]

_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", float: "a number"}


@dataclass(frozen=True)
class Field:
    type: type  # str, bool, int or float
    required: bool = True
    default: Any = None  # the value of an optional field that is absent
    max_length: int | None = None  # strings: most characters
    strip: bool = False  # strings: surrounding white space removed before the length is checked
    min_value: float | None = None  # numbers
    max_value: float | None = None

    def check(self, name: str, value: Any) -> Any:
        """``value`` if it fits, else ApiError(400, "invalid_body")."""
        fits = (
            type(value) is bool if self.type is bool
            else type(value) is int if self.type is int
            else type(value) in (int, float) if self.type is float  # 1 is a fine number
            else isinstance(value, self.type)
        )
        if not fits:
            raise _invalid(f"'{name}' must be {_TYPE_NAMES.get(self.type, self.type.__name__)}")
        if isinstance(value, str):
            if self.strip:
                value = value.strip()
            if self.max_length is not None and len(value) > self.max_length:
                raise _invalid(f"'{name}' is longer than {self.max_length} characters")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # "\\ud800": valid JSON, but no text a store could keep
                raise _invalid(f"'{name}' holds a lone surrogate") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value != value or value in (float("inf"), float("-inf")):
                raise _invalid(f"'{name}' must be a finite number")
            if self.min_value is not None and value < self.min_value or self.max_value is not None and value > self.max_value:
                raise _invalid(f"'{name}' must be from {self.min_value} to {self.max_value}")
        return value


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_body", message)


def json_body(schema: Mapping[str, Field], optional: bool = False) -> dict:
    """The request's JSON object checked against ``schema``: every schema key present, no others.

    ``optional`` accepts an empty body as ``{}`` (then defaults). Raises ApiError: 415
    ``unsupported_media_type`` (not application/json), 400 ``invalid_json`` (unparsable, too deep),
    400 ``invalid_body`` (not an object, unknown, missing or ill-typed field); 413 ``too_large`` comes
    from Flask's body limit.
    """
    raw = request.get_data(cache=True)  # raises 413 when Content-Length is past MAX_CONTENT_LENGTH
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is cut at the limit without an error: treat reaching it as too large.
        raise RequestEntityTooLarge()
    if not raw.strip():
        if not optional:
            raise _invalid("a JSON object body is required")
        data: Any = {}
    else:
        if request.mimetype != "application/json" or request.mimetype_params.get("charset", "utf-8").lower() not in (
                "utf-8", "utf8"):
            raise ApiError(415, "unsupported_media_type", "send the body as application/json in UTF-8")
        try:
            # Decoded here: json.loads(bytes) would also take UTF-16 and a byte order mark.
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # RecursionError: [[[[… nested past the parser's depth
            raise ApiError(400, "invalid_json", "the body is not valid JSON (UTF-8, not too deeply nested)") from None
    if not isinstance(data, dict):
        raise _invalid("the body must be a JSON object")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        shown = unknown[0][:50].encode("utf-8", "backslashreplace").decode("utf-8")  # keys may hold surrogates
        raise _invalid(f"unknown field '{shown}'; allowed: {', '.join(schema)}")
    out = {}
    for name, field in schema.items():
        if name not in data:
            if field.required:
                raise _invalid(f"'{name}' is required")
            out[name] = field.default
        else:
            out[name] = field.check(name, data[name])
    return out


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_FORM_BOOLS = {"true": True, "false": False}


def form_body(schema: Mapping[str, Field]) -> dict:
    """The fields of the form the request posts (an HTML form, sent without JavaScript) checked against
    ``schema`` as json_body checks a JSON object: every required key present once, no others. A form's
    values are text: a bool field is "true" or "false" (a submit button's value).

    Raises ApiError: 415 ``unsupported_media_type`` (not a form), 400 ``invalid_body`` (an unknown, missing,
    repeated or ill-typed field); 413 ``too_large`` comes from Flask's body limit.
    """
    if request.mimetype not in FORM_TYPES:
        raise ApiError(415, "unsupported_media_type", "send the body as an HTML form (application/x-www-form-urlencoded)")
    form = request.form  # raises 413 past MAX_CONTENT_LENGTH
    unknown = sorted(set(form) - set(schema))
    if unknown:
        raise _invalid(f"unknown field '{unknown[0][:50]}'; allowed: {', '.join(schema)}")
    out = {}
    for name, field in schema.items():
        values = form.getlist(name)
        if len(values) > 1:  # two values of one field: which one was meant is not ours to guess
            raise _invalid(f"give one '{name}' (got {len(values)})")
        if not values:
            if field.required:
                raise _invalid(f"'{name}' is required")
            out[name] = field.default
            continue
        value = _FORM_BOOLS.get(values[0], values[0]) if field.type is bool else values[0]
        out[name] = field.check(name, value)
    return out
