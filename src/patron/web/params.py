"""The pages' path parameters: a row's id (``/admin/members/{member_id}``) in plain digits
(``kit.strict.DIGITS``: not ``1_0``, ``+1`` or `` 1``), from 1 to 2^62. An id that is not one
answers the error page (422, ``patron.web.page_errors``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from patron.kit.strict import DIGITS

PageId = Annotated[int, Path(ge=1, le=2**62), DIGITS]
