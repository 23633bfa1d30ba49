"""A task and a mail backend for the crash tests: both can be made to hang so a test can kill the worker mid-way.

They live in an importable module because the worker under test is a separate process that imports the task by its
path. The marker and log files are named by environment variables the test sets for that process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.tasks import task


@task
def hang_on_first_run(marker: str) -> str:
    """The first run writes ``marker`` and hangs (to be killed); a later run finds the marker and returns."""
    path = Path(marker)
    if not path.exists():
        path.write_text("started")
        time.sleep(600)
    return "ran again"


class RecordingBackend(BaseEmailBackend):
    """Appends each recipient to ``$FAULT_MAIL_LOG`` as it is "delivered"; hangs on a recipient starting ``hang``
    while ``$FAULT_MAIL_HANG`` exists (the test deletes it before starting the next worker)."""

    def __init__(self, fail_silently: bool = False, **options: Any) -> None:
        # Production settings pass the SMTP options (host, port, …) to every mailer; this one has no use for them.
        super().__init__(fail_silently=fail_silently)

    def send_messages(self, email_messages: Any) -> int:
        log = Path(os.environ["FAULT_MAIL_LOG"])
        for message in email_messages:
            to = message.to[0]
            with log.open("a") as fh:
                fh.write(to + "\n")  # delivered: the mail server has it, whatever happens next
            if to.startswith("hang") and Path(os.environ.get("FAULT_MAIL_HANG", "/nonexistent")).exists():
                time.sleep(600)
        return len(email_messages)
