"""Schemathesis hooks for Patron (``SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks``).

One check, ``positive_data_acceptance_or_rule``: schemathesis's ``positive_data_acceptance``
(a request the schema calls valid must not be refused with 400 or 422), except for the 422s
whose ``error.code`` the operation lists under ``x-rule-codes``: the rules no JSON schema can
state (one field against another, or against the stored state), each with its own code
(``patron.api.responses``). A schema-valid request refused with ``validation_error`` still
fails: that rule belongs in the schema. Run it in place of the built-in one::

    schemathesis run URL --checks all --exclude-checks positive_data_acceptance
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

RULE_CODES = "x-rule-codes"


def _declared_rule(case: Any, response: Any) -> bool:
    if response.status_code != 422:
        return False
    declared = case.operation.definition.raw.get("responses", {}).get("422", {})
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return False
    return code in declared.get(RULE_CODES, ())


@schemathesis.check
def positive_data_acceptance_or_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    if _declared_rule(case, response):
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result
