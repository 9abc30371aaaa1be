"""No credential in any log line, whoever logs it (Django, gunicorn, a library, our code).

/v2 refuses credentials in URLs, but the refusal itself, a 404 for ``/v2/monitors/sp_live_…`` or
a traceback can still carry the path into a log record (Django's ``django.request`` logger writes
"Not Found: <path>"; gunicorn's access log writes the path). Redacting at one handler would miss
the others, so the redaction happens where every record is made: a log record factory that
replaces anything matching ``CREDENTIAL_PATTERN`` in the message and in the traceback text.
Records without a credential are left as they are (one regex search of the message).
"""

import logging
import traceback

from statuspool.credential_format import CREDENTIAL_PATTERN

REDACTED = "[redacted]"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its format: logging reports it
        return record
    if CREDENTIAL_PATTERN.search(message):
        record.msg, record.args = CREDENTIAL_PATTERN.sub(REDACTED, message), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if CREDENTIAL_PATTERN.search(text):
            # Formatters use exc_text when it is set instead of formatting exc_info again.
            record.exc_text = CREDENTIAL_PATTERN.sub(REDACTED, text)
    return record


def install() -> None:
    """Make every log record of this process go through ``redact_record`` (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_credentials", False):
        return

    def factory(*args, **kwargs):
        return redact_record(previous(*args, **kwargs))

    factory.redacts_credentials = True
    logging.setLogRecordFactory(factory)
