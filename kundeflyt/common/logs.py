"""Keep personal data out of the server's logs: a request line is logged without its query
string, since searches and filters carry names, phone numbers and e-mail addresses."""

from __future__ import annotations

import logging
import re

# "GET /search/?q=Kari HTTP/1.1" → "GET /search/?… HTTP/1.1"
_QUERY = re.compile(r"\?[^\s\"]*")


def without_query(text: str) -> str:
    return _QUERY.sub("?…", text)


class StripQueryStrings(logging.Filter):
    """Removes query strings from a log record's message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = without_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
