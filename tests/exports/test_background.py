"""A large export runs in the background (a low threshold here): the user follows its
progress to a download link that is theirs alone and expires, after which the file is gone.
The tasks run at once in the test's process (``TASKS_BACKEND`` in pyproject.toml)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.exports import services
from kundeflyt.exports.models import Export
from kundeflyt.exports.selectors import Listing
from kundeflyt.reports.exports import Sheet
from kundeflyt.reports.selectors import Column
from tests.exports.conftest import JUNE, History, read_csv, read_xlsx
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_threshold(settings: Any, tmp_path: Path) -> Path:
    """Exports of more than three rows run in the background; files go under ``tmp_path``."""
    settings.EXPORT_STREAM_MAX_ROWS = 3
    settings.DATA_DIR = tmp_path
    return tmp_path / "exports"


def start(client: Client, user: User, fmt: str = "csv", **filters: Any) -> Export:
    client.force_login(User.objects.get(pk=user.pk))
    response = client.post(reverse("exports:registrations"), {**JUNE, **filters, "format": fmt})
    export = Export.objects.filter(user=user).latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:export", args=[export.pk])
    return export


def test_a_large_export_runs_in_the_background_and_its_maker_downloads_it(
    client: Client, history: History, low_threshold: Path
) -> None:
    boss = history.shop.boss

    export = start(client, boss)

    export.refresh_from_db()
    assert export.status == Export.Status.DONE
    assert (export.rows_total, export.rows_done) == (8, 8)
    files = list(low_threshold.iterdir())
    assert [f.name for f in files] == [export.file_name]
    assert export.expires_at == export.finished_at + dt.timedelta(hours=24)
    page = client.get(reverse("exports:export", args=[export.pk])).content.decode()
    assert "The export is ready: 8 rows." in page
    assert reverse("exports:download", args=[export.pk]) in page
    response = client.get(reverse("exports:download", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="kundeflyt-registrations-20250601-20250630.csv"'
    )
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = read_csv(body, ",")
    assert [int(r["Registration"]) for r in rows] == [e.pk for e in history.events]
    assert low_threshold.stat().st_mode & 0o077 == 0  # the directory is private


def test_the_progress_page_polls_while_it_runs_and_stops_when_done(
    client: Client, history: History, low_threshold: Path
) -> None:
    boss = history.shop.boss
    running = Export.objects.create(
        user=boss,
        kind=Export.Kind.REGISTRATIONS,
        format="csv",
        language="en",
        status=Export.Status.RUNNING,
        rows_total=200,
        rows_done=50,
        created_at=timezone.now(),
        started_at=timezone.now() - dt.timedelta(seconds=10),
    )
    client.force_login(boss)

    partial = client.get(reverse("exports:export", args=[running.pk]), HTTP_HX_REQUEST="true")

    html = partial.content.decode()
    assert 'hx-trigger="every 2s"' in html and 'value="25"' in html
    assert "50 of 200 rows written" in html and "rows a second" in html
    assert "<html" not in html  # the progress alone
    Export.objects.filter(pk=running.pk).update(status=Export.Status.DONE, rows_done=200)
    done = client.get(reverse("exports:export", args=[running.pk]), HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done.content.decode()


def test_an_xlsx_in_the_background_has_both_sheets(
    client: Client, history: History, low_threshold: Path
) -> None:
    export = start(client, history.shop.boss, "xlsx")

    response = client.get(reverse("exports:download", args=[export.pk]))

    book = read_xlsx(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert len(book["Registrations"]) == 8 and len(book["Product lines"]) == 2
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_another_user_never_gets_the_file_or_its_page(
    client: Client, history: History, low_threshold: Path
) -> None:
    export = start(client, history.shop.boss)
    other = UserFactory(perms=[Perm.REPORTING, Perm.INDIVIDUAL_RESULTS, Perm.REVENUE])
    history.shop.world.crm.data_owner.users.add(other)  # sees the same campaigns, even
    client.force_login(other)

    assert client.get(reverse("exports:download", args=[export.pk])).status_code == 404
    assert client.get(reverse("exports:export", args=[export.pk])).status_code == 404
    listed = client.get(reverse("exports:index")).content.decode()
    assert reverse("exports:export", args=[export.pk]) not in listed
    client.logout()
    assert client.get(reverse("exports:download", args=[export.pk])).status_code == 302


def test_an_expired_export_is_refused_and_its_file_deleted(
    client: Client, history: History, low_threshold: Path
) -> None:
    export = start(client, history.shop.boss)
    export.refresh_from_db()
    path = low_threshold / export.file_name
    assert path.is_file()
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    gone = client.get(reverse("exports:download", args=[export.pk]))

    assert gone.status_code == 410
    assert "has expired" in gone.content.decode()
    assert path.is_file()  # until the purge, which every new export and the command run
    call_command("exports_purge", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not path.exists()
    export.refresh_from_db()
    assert (export.status, export.file_name) == (Export.Status.EXPIRED, "")
    assert client.get(reverse("exports:download", args=[export.pk])).status_code == 410


def test_every_new_export_deletes_expired_files(
    client: Client, history: History, low_threshold: Path
) -> None:
    first = start(client, history.shop.boss)
    first.refresh_from_db()
    Export.objects.filter(pk=first.pk).update(expires_at=timezone.now())

    start(client, history.shop.boss)

    assert not (low_threshold / first.file_name).exists()
    assert len(list(low_threshold.iterdir())) == 1


def test_a_task_that_cannot_run_as_its_user_fails_and_says_why(
    client: Client, history: History, low_threshold: Path
) -> None:
    lead = history.shop.lead
    export = Export.objects.create(
        user=lead,
        kind=Export.Kind.REGISTRATIONS,
        format="csv",
        query="start=2025-06-01&end=2025-06-30",
        language="en",
        status=Export.Status.WAITING,
        rows_total=8,
        created_at=timezone.now(),
    )
    lead.user_permissions.clear()  # lost *reporting* while the export waited

    services.export_run(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert "reporting" in export.error.lower()
    assert list(low_threshold.iterdir()) == []  # no half-written file is left


def test_an_xlsx_over_a_sheets_rows_is_refused_before_anything_runs() -> None:
    listing = Listing(
        kind="registrations",
        description="",
        file_stem="x",
        sheets=[Sheet("Registrations", [Column("a", "A")])],
        count=1_048_576,
        rows=lambda all_sheets: iter(()),
    )

    with pytest.raises(services.DomainError) as refused:
        services.check_fits(listing, "xlsx")

    assert refused.value.field == "format"
    services.check_fits(listing, "csv")  # a CSV file has no such limit


def test_a_running_export_whose_worker_stopped_is_marked_failed(
    client: Client, history: History, low_threshold: Path
) -> None:
    boss = history.shop.boss
    long_ago = timezone.now() - dt.timedelta(hours=1)
    stopped = Export.objects.create(
        user=boss,
        kind=Export.Kind.REGISTRATIONS,
        format="csv",
        language="en",
        status=Export.Status.RUNNING,
        rows_total=200_000,
        rows_done=4000,
        created_at=long_ago,
        started_at=long_ago,
        progress_at=long_ago,
    )
    client.force_login(boss)

    page = client.get(reverse("exports:export", args=[stopped.pk])).content.decode()
    services.export_files_purge()

    assert "its worker may have stopped" in page
    stopped.refresh_from_db()
    assert stopped.status == Export.Status.FAILED
    assert "Export again" in stopped.error
    page = client.get(reverse("exports:export", args=[stopped.pk])).content.decode()
    assert "The export failed:" in page and "hx-trigger" not in page
