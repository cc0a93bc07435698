"""Errors of the feedback domain: surveys, invitations, answers and reviews.

A used or expired invitation is a 409 (its state, not the caller, is the problem); an unknown
token is a 404 like an unknown coupon.
"""

from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError, NotFoundError


class SurveyNotFoundError(NotFoundError):
    code = "survey_not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"the program has no survey {key!r}", field="survey_key")


class SurveyExistsError(ConflictError):
    code = "survey_exists"

    def __init__(self, key: str) -> None:
        super().__init__(f"survey {key!r} exists already", field="key")


class SurveyDefinedInProgramError(ConflictError):
    """Surveys of the program file change through the program file only."""

    code = "survey_in_program_file"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"survey {key!r} is defined in the program file; change it there", field="key"
        )


class SurveyInactiveError(ConflictError):
    code = "survey_inactive"

    def __init__(self, key: str) -> None:
        super().__init__(f"survey {key!r} is not active", field="survey_key")


class InvitationNotFoundError(NotFoundError):
    code = "invitation_not_found"

    def __init__(self) -> None:
        super().__init__("this survey link is not known", field="token")


class InvitationUsedError(ConflictError):
    code = "invitation_used"

    def __init__(self) -> None:
        super().__init__("this survey link has been used already", field="token")


class InvitationExpiredError(ConflictError):
    code = "invitation_expired"

    def __init__(self) -> None:
        super().__init__("this survey link has expired", field="token")


class AnswerInvalidError(InvalidInputError):
    code = "answer_invalid"


class DuplicateQuestionIdError(InvalidInputError):
    """A survey's questions share an id: a rule no JSON schema can state (``uniqueItems``
    compares whole questions), so it has its own code."""

    code = "duplicate_question_id"

    def __init__(self, question_id: str) -> None:
        super().__init__(
            f"question id {question_id!r} is used twice; question ids must be unique",
            field="questions",
        )


def require_unique_question_ids(question_ids: list[str]) -> None:
    seen: set[str] = set()
    for question_id in question_ids:
        if question_id in seen:
            raise DuplicateQuestionIdError(question_id)
        seen.add(question_id)


class ReviewNotFoundError(NotFoundError):
    code = "review_not_found"

    def __init__(self, review_id: int) -> None:
        super().__init__(f"review {review_id} does not exist", field="review_id")


class FollowUpNotFoundError(NotFoundError):
    code = "follow_up_not_found"
