from tests.rigs.browser import browser  # noqa: F401  (session-scoped Chromium fixture)
