"""The /v2 JSON parser: DRF's, with a nesting limit.

Python's ``json`` recurses once per nesting level, so a couple of kilobytes of ``[[[[…`` raise
``RecursionError`` (a 500) before any view or authentication runs. No request body of this API is
more than a few levels deep; anything past ``MAX_DEPTH`` is refused as a 400 like other bad JSON.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
_TOO_DEEP = f"JSON parse error - nested more than {MAX_DEPTH} levels deep."


def _too_deep(data) -> bool:
    """Iterative, so a deep value cannot blow the stack while being measured."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_TOO_DEEP)
        if _too_deep(data):
            raise ParseError(_TOO_DEEP)
        return data
