"""Schemathesis hooks for Patron (``SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks``).

Two checks replace schemathesis's ``positive_data_acceptance`` and ``negative_data_rejection``
and keep them whole, except for what the document states that no JSON schema can:

- ``positive_data_acceptance_or_rule``: a request the schema calls valid must not be refused
  with 400 or 422, except with a 422 whose ``error.code`` the operation lists under
  ``x-rule-codes`` (the rules no JSON schema can state: one field against another, or against
  the stored state, each with its own code, ``patron.api.responses``), or with a 413 for a body
  larger than it states. A schema-valid request refused with ``validation_error`` still
  fails: that rule belongs in the schema.
- ``negative_data_rejection_or_too_large``: a request the schema calls invalid must be
  refused; a 413 ``payload_too_large`` for a body larger than the operation's stated
  ``x-max-body-bytes`` is a refusal. (A body's size in bytes is no rule a JSON schema can
  state: a thousand texts of up to 5,000 characters are valid and may be 5 MB.)

A 413 for a body within the stated limit still fails both checks. Run them in place of the
built-in ones::

    schemathesis run URL --checks all \\
        --exclude-checks positive_data_acceptance,negative_data_rejection
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

RULE_CODES = "x-rule-codes"
MAX_BODY_BYTES = "x-max-body-bytes"


def _declared(case: Any, status: int) -> dict[str, Any]:
    declared: dict[str, Any] = case.operation.definition.raw.get("responses", {}).get(
        str(status), {}
    )
    return declared


def _code(response: Any) -> str | None:
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


def _declared_rule(case: Any, response: Any) -> bool:
    if response.status_code != 422:
        return False
    return _code(response) in _declared(case, 422).get(RULE_CODES, ())


def _body_size(response: Any) -> int:
    body = response.request.body
    if body is None:
        return 0
    return len(body.encode() if isinstance(body, str) else body)


def _over_the_stated_limit(case: Any, response: Any) -> bool:
    """A 413 ``payload_too_large`` for a body larger than the operation says it takes."""
    if response.status_code != 413 or _code(response) != "payload_too_large":
        return False
    limit = _declared(case, 413).get(MAX_BODY_BYTES)
    return isinstance(limit, int) and _body_size(response) > limit


@schemathesis.check
def positive_data_acceptance_or_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    if _declared_rule(case, response) or _over_the_stated_limit(case, response):
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


@schemathesis.check
def negative_data_rejection_or_too_large(ctx: Any, response: Any, case: Any) -> bool | None:
    if _over_the_stated_limit(case, response):
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result
