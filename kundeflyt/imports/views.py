"""The import pages: upload → sheet → mapping and options → preview → run → progress →
summary (rejected rows, their file, undo), and each CRM's list of imports. Views parse,
call one service or selector, and render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.common.refusals import htmx_redirect, is_htmx, refused
from kundeflyt.handling.selectors.screen import display_value
from kundeflyt.imports import selectors, services
from kundeflyt.imports.cells import targets
from kundeflyt.imports.forms import mapping_from, options_from, options_of
from kundeflyt.imports.models import ImportBatch, OnBlocked, OnDuplicate

ERRORS_PER_PAGE = 100
BATCHES_PER_PAGE = 50
LATEST_PER_CRM = 5  # imports shown per CRM on the imports page


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _batch(request: HttpRequest, batch_id: int) -> ImportBatch:
    try:
        return selectors.batch_for(_user(request), batch_id)
    except NotFound as error:
        raise Http404(error.message) from None


def _batch_url(batch: ImportBatch) -> str:
    return reverse("imports:batch", args=[batch.pk])


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The CRMs the user may import into, each with its latest imports."""
    user = _user(request)
    crms = list(selectors.crms_for_import(user).order_by("data_owner__name", "kind"))
    latest: dict[int, list[ImportBatch]] = {crm.pk: [] for crm in crms}
    for batch in selectors.latest_batches(user, LATEST_PER_CRM):
        latest[batch.crm_id].append(batch)
    return render(
        request,
        "imports/index.html",
        {"nav": "imports", "crms": [(crm, latest[crm.pk]) for crm in crms]},
    )


@login_required
@require_GET
def crm_imports(request: HttpRequest, crm_id: int) -> HttpResponse:
    """A CRM's imports, newest first, and the form to upload a new file."""
    user = _user(request)
    try:
        crm = selectors.crm_for_import(user, crm_id)
    except NotFound as error:
        raise Http404(error.message) from None
    page = Paginator(selectors.batches_of(user, crm), BATCHES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "imports/crm.html", {"nav": "imports", "crm": crm, "page": page})


@login_required
@require_POST
def upload(request: HttpRequest, crm_id: int) -> HttpResponseBase:
    """Keep the uploaded file as a new import and go on to its mapping."""
    user = _user(request)
    try:
        crm = selectors.crm_for_import(user, crm_id)  # no permission: 403 (the middleware)
    except NotFound as error:
        raise Http404(error.message) from None
    try:
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise DomainError(_("Choose a file to import."), field="file")
        batch = services.import_upload(
            user, crm=crm, file_name=uploaded.name or "", content=uploaded
        )
    except DomainError as error:
        return refused(request, error, back=reverse("imports:crm", args=[crm.pk]))
    return htmx_redirect(request, _batch_url(batch))


def _setup_context(
    request: HttpRequest, batch: ImportBatch, *, mapping: dict[int, str] | None = None, **extra: Any
) -> dict[str, Any]:
    user = _user(request)
    chosen = mapping if mapping is not None else services.mapping_of(batch)
    samples = [v if isinstance(v, list) else [] for v in (batch.samples or [])]
    available = targets(list(batch.crm.fields.all()))
    return {
        "nav": "imports",
        "batch": batch,
        "columns": [
            (
                i,
                header,
                chosen.get(i, ""),
                extra.get("error_field") == f"column_{i}",
                " · ".join(samples[i]) if i < len(samples) else "",
            )
            for i, header in enumerate(batch.columns)
        ],
        "targets": available,
        "text_targets": [t for t in available if t.type == "text"],
        "destinations": selectors.destinations(user, batch.crm),
        "options": options_of(batch),
        "duplicate_choices": OnDuplicate.choices,
        "blocked_choices": OnBlocked.choices,
        "sheets": _sheets(batch),
    } | extra


def _sheets(batch: ImportBatch) -> list[str]:
    if batch.file_kind == "csv":
        return []
    from kundeflyt.imports import files, storage

    try:
        with storage.spooled(batch) as path:
            return files.sheet_names(path)
    except DomainError:
        return [batch.sheet]


@login_required
@require_GET
def batch_page(request: HttpRequest, batch_id: int) -> HttpResponse:
    """One import: its set-up while it has not started, its progress while it runs, and its
    summary when it has finished."""
    batch = _batch(request, batch_id)
    if batch.status == ImportBatch.Status.DRAFT:
        return render(request, "imports/setup.html", _setup_context(request, batch))
    errors = Paginator(selectors.rejected_rows(batch), ERRORS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request, "imports/batch.html", {"nav": "imports", "batch": batch, "errors": errors}
    )


@login_required
@require_POST
def sheet_choose(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    batch = _batch(request, batch_id)
    try:
        services.import_sheet_choose(
            _user(request), batch=batch, sheet=str(request.POST.get("sheet", ""))[:200]
        )
    except DomainError as error:
        return refused(request, error, back=_batch_url(batch))
    return htmx_redirect(request, _batch_url(batch))


@login_required
@require_POST
def preview(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The first rows as they will be stored, for the mapping and options on the form (an
    htmx fragment; a refused mapping shows its reason in its place)."""
    batch = _batch(request, batch_id)
    context: dict[str, Any] = {"batch": batch}
    try:
        options = options_from(request.POST)
        shown = services.import_preview(
            _user(request),
            batch=batch,
            mapping=mapping_from(request.POST, batch),
            rest_field=options.rest_field,
            generate_ids=bool(options.id_prefix),
        )
    except DomainError as error:
        context |= {"error": error.message, "error_field": error.field}
        return render(request, "imports/partials/_preview.html", context, status=422)
    labels = [t.label for t in shown.targets]
    rows = [
        (
            p.number,
            [
                display_value(
                    t.type if t.definition else _standard_kind(t.key), _stored(p.row, t.key)
                )
                for t in shown.targets
            ],
            p.row.errors,
        )
        for p in shown.rows
    ]
    return render(
        request, "imports/partials/_preview.html", context | {"labels": labels, "rows": rows}
    )


def _standard_kind(key: str) -> str:
    return "phone" if key.startswith("phone") else "text"


def _stored(row: Any, key: str) -> Any:
    return row.values.get(key) if key in row.values else row.fields.get(key)


@login_required
@require_POST
def start(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    """Start the import with the form's mapping and options, and show its progress."""
    user = _user(request)
    batch = _batch(request, batch_id)
    mapping: dict[int, str] | None = None
    try:
        mapping = mapping_from(request.POST, batch)
        options = options_from(request.POST)
        chosen = selectors.destination(user, batch.crm, options.target)
        services.import_start(user, batch=batch, mapping=mapping, **options.start_arguments(chosen))
    except DomainError as error:
        if batch.status != ImportBatch.Status.DRAFT or not mapping:
            return refused(request, error, back=_batch_url(batch))
        context = _setup_context(
            request,
            batch,
            mapping=mapping,
            error=error.message,
            error_field=error.field,
            options=_posted_options(request) or options_of(batch),
        )
        return render(request, "imports/setup.html", context, status=400)
    return htmx_redirect(request, _batch_url(batch))


def _posted_options(request: HttpRequest) -> Any:
    try:
        return options_from(request.POST)
    except DomainError:
        return None


@login_required
@require_GET
def progress(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The progress bar, polled while the import waits or runs; once it has finished, the
    browser loads the summary."""
    batch = _batch(request, batch_id)
    if not batch.is_active and is_htmx(request):
        return htmx_redirect(request, _batch_url(batch))
    return render(request, "imports/partials/_progress.html", {"batch": batch})


@login_required
@require_POST
def cancel(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    batch = _batch(request, batch_id)
    try:
        services.import_cancel(_user(request), batch=batch)
    except DomainError as error:
        return refused(request, error, back=_batch_url(batch))
    messages.success(request, _("The import stops after the rows it is writing now."))
    return htmx_redirect(request, _batch_url(batch))


@login_required
@require_POST
def discard(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    """Throw away a file that was uploaded but never imported."""
    batch = _batch(request, batch_id)
    try:
        services.import_discard(_user(request), batch=batch)
    except DomainError as error:
        return refused(request, error, back=_batch_url(batch))
    messages.success(request, _("The file “%(name)s” is thrown away.") % {"name": batch.file_name})
    return htmx_redirect(request, reverse("imports:crm", args=[batch.crm_id]))


@login_required
@require_POST
def undo(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    batch = _batch(request, batch_id)
    try:
        batch = services.import_undo(_user(request), batch=batch)
    except DomainError as error:
        return refused(request, error, back=_batch_url(batch))
    messages.success(
        request,
        _("The import is undone: %(removed)s customers removed, %(restored)s restored.")
        % {"removed": batch.removed_count, "restored": batch.restored_count},
    )
    return htmx_redirect(request, _batch_url(batch))


@login_required
@require_GET
def rejected(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    """The rejected rows as a file in the original layout, with an error column, to fix and
    import again."""
    batch = _batch(request, batch_id)
    try:
        path, name, kind = selectors.rejected_file(batch)
    except DomainError as error:
        return refused(request, error, back=_batch_url(batch))
    handle = Path(path).open("rb")  # noqa: SIM115 (FileResponse closes it)
    Path(path).unlink()  # the open handle keeps it readable until the response is sent
    return FileResponse(handle, as_attachment=True, filename=name, content_type=kind)
