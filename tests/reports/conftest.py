from tests.reports.history import shop  # noqa: F401
