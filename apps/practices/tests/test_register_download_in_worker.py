"""The whole register as a spreadsheet is written by the worker, not in the request (issue 19 §5); never stale."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from apps.core.exports import XLSX_TYPE
from apps.practices import downloads
from apps.practices.models import Practice, PracticeStatus, PreparedDownload

pytestmark = pytest.mark.django_db
OPEN = Practice.objects.filter(status=PracticeStatus.ACTIVE)  # the register search's default


def _sheet(body: bytes) -> tuple[int, str]:
    """The number of rows in the spreadsheet, and its text (xlsxwriter keeps strings in the shared-strings part)."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        text = z.read("xl/sharedStrings.xml").decode()
    return len(re.findall(r"<row ", sheet)), text


def test_the_whole_register_waits_for_the_worker_then_is_served_from_what_it_wrote(client_for, database_tasks):
    client = client_for("icb_a")
    waiting = client.get("/practices/", {"download": "xlsx"})
    assert waiting.status_code == 200 and waiting["Content-Type"].startswith("text/html")
    page = waiting.content.decode()
    assert "Preparing your download" in page and 'http-equiv="refresh"' in page and "download=csv" in page
    asked = PreparedDownload.objects.get()
    assert asked.content is None and asked.rows > downloads.INLINE_ROWS  # the search's default: every open practice
    assert client.get("/practices/", {"download": "xlsx"}).status_code == 200
    assert PreparedDownload.objects.count() == 1  # asked again: not queued twice

    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.get(task_path="apps.practices.tasks.write_register_download")
    from apps.practices.tasks import write_register_download

    write_register_download.call(*queued.args_kwargs["args"], **queued.args_kwargs["kwargs"])  # the worker's run
    served = client.get("/practices/", {"download": "xlsx"})
    assert served["Content-Type"] == XLSX_TYPE
    assert 'filename="practices.xlsx"' in served["Content-Disposition"]
    rows, text = _sheet(served.content)
    assert rows == asked.rows + 1 and all(f">{c}<" in text for c in downloads.EXPORT_COLUMNS)


def test_a_changed_register_is_never_served_from_an_older_file(client_for):
    client = client_for("icb_a")
    first = _sheet(client.get("/practices/", {"download": "xlsx"}).content)  # the suite's tasks run at once
    practice = OPEN.order_by("code").first()  # one the search lists
    Practice.objects.filter(pk=practice.pk).update(name="Renamed Surgery")
    second = _sheet(client.get("/practices/", {"download": "xlsx"}).content)
    assert first[0] == second[0] and "Renamed Surgery" not in first[1] and "Renamed Surgery" in second[1]
    assert PreparedDownload.objects.filter(built_at__isnull=False).count() == 2


def test_a_filtered_download_small_enough_is_written_in_the_request(client_for):
    answer = client_for("icb_a").get("/practices/", {"download": "xlsx", "icb": "QHM"})
    assert answer["Content-Type"] == XLSX_TYPE
    assert not PreparedDownload.objects.exists()


def test_only_the_newest_files_are_kept():
    written = []
    for n in range(downloads.KEEP + 2):  # the worker's side, with small files of different rows
        rows, columns = [(f"P{n:05d}", f"Practice {n}")], ["ods_code", "name"]
        downloads.write(rows, columns, "practices")
        written.append(downloads.digest_of(rows, columns))
    kept = set(PreparedDownload.objects.values_list("digest", flat=True))
    assert kept == set(written[-downloads.KEEP :])  # the two oldest are gone


def test_a_file_the_worker_never_wrote_is_asked_for_again_once(client_for, database_tasks):
    """A run that failed leaves the file unwritten: after a while the next request queues the task again, and only
    that one (the others keep waiting on it)."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    client = client_for("icb_a")
    queued = DBTaskResult.objects.filter(task_path="apps.practices.tasks.write_register_download")
    client.get("/practices/", {"download": "xlsx"})
    assert queued.count() == 1
    client.get("/practices/", {"download": "xlsx"})
    assert queued.count() == 1  # still within the interval: waiting on the first run
    PreparedDownload.objects.update(requested_at=timezone.now() - downloads.ASK_AGAIN_AFTER - timedelta(seconds=1))
    assert "Preparing your download" in client.get("/practices/", {"download": "xlsx"}).content.decode()
    assert queued.count() == 2
    client.get("/practices/", {"download": "xlsx"})
    assert queued.count() == 2
