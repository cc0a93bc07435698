"""The web console at ``/admin`` and the member portal at ``/portal`` (issue 13):
server-rendered pages over the domain services.

See ``docs/architecture.md`` ("The web console"). This package imports no database code
(an import-linter contract): pages open units of work and call services.
"""

from __future__ import annotations

# The paths the console answers. They are outside the API's role matrix: the console's
# authorization is the staff session (``patron.web.auth``), not an API key.
CONSOLE_PATHS = ("/admin", "/static/web")
CONSOLE_ROOT = "/"  # redirects to /admin
# The member portal's paths: authorized by the member session (``patron.web.member_auth``),
# also outside the API's role matrix, and apart from the console's (``tests/web``).
PORTAL_PATHS = ("/portal", "/join", "/s")  # /join: a referral link's landing page; /s: a
# survey link's page (the token is the credential)
