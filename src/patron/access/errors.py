from __future__ import annotations

from patron.kit.errors import ForbiddenError, NotFoundError, UnauthorizedError


class ApiKeyInvalidError(UnauthorizedError):
    code = "invalid_api_key"


class ApiKeyMissingError(UnauthorizedError):
    code = "missing_api_key"


class RoleForbiddenError(ForbiddenError):
    code = "forbidden"


class ApiKeyNotFoundError(NotFoundError):
    code = "api_key_not_found"
