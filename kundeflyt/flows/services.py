"""Writes for flows: validation, export and import as files, and the shipped standard flow."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.validators import slug_re
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import LONG_TEXT
from kundeflyt.common.errors import DomainError, NotAllowed
from kundeflyt.flows.models import Flow, FollowUpRule, Outcome, ProductRule, State, StateKind

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User
    from kundeflyt.common.actors import Process

FILE_FORMAT = "kundeflyt-flow"
FILE_VERSION = 1
STANDARD_FLOW_NAME = "Standard telemarketing"
STANDARD_FLOW_FILE = Path(__file__).with_name("standard_telemarketing.json")

_STATE_FIELDS = {"key", "name", "kind", "position"}
_OUTCOME_FIELDS = {
    "key",
    "name",
    "description",
    "from_states",
    "to_state",
    "follow_up",
    "follow_up_default_minutes",
    "comment_required",
    "products",
    "books_meeting",
    "report_category",
    "position",
}
_NAME_MAX_LENGTH = 120  # Flow.name, State.name and Outcome.name
_KEY_MAX_LENGTH = 60  # State.key and Outcome.key
_CATEGORY_MAX_LENGTH = 60  # Outcome.report_category
_FLOW_FIELDS = {"format", "version", "name", "description", "states", "outcomes"}


# --- Permission -----------------------------------------------------------------------------


def _require_flow_setup(actor: User | Process) -> None:
    """Flows are set up by administrators and campaign setup users; processes pass."""
    if has_perm(actor, Perm.ADMINISTRATOR) or has_perm(actor, Perm.CAMPAIGN_SETUP):
        return
    from kundeflyt.accounts.models import User

    labels = dict(User._meta.permissions)
    raise NotAllowed(
        _("You need the permission “%(first)s” or “%(second)s” to set up flows.")
        % {
            "first": labels.get(Perm.ADMINISTRATOR.value, Perm.ADMINISTRATOR.value),
            "second": labels.get(Perm.CAMPAIGN_SETUP.value, Perm.CAMPAIGN_SETUP.value),
        }
    )


# --- Validation -----------------------------------------------------------------------------


def flow_validate(flow: Flow) -> None:
    """A flow is usable only if customers can start in it, reach every state, leave every
    non-final state, and every outcome's offer and follow-up agree with its target state."""
    states = list(flow.states.order_by("position", "id"))
    entry = next((s for s in states if s.kind == StateKind.AVAILABLE), None)
    if entry is None:
        raise DomainError(
            _("The flow has no state of kind “Available”: customers need one to start in."),
            field="states",
        )

    outcomes = list(
        flow.outcomes.order_by("position", "id")
        .select_related("to_state")
        .prefetch_related(
            Prefetch("from_states", queryset=State.objects.order_by("position", "id"))
        )
    )
    for outcome in outcomes:
        _validate_outcome(flow, outcome)

    leads_out = {
        source.pk
        for outcome in outcomes
        if outcome.to_state_id is not None
        for source in outcome.from_states.all()
        if source.pk != outcome.to_state_id
    }
    for state in states:
        if not state.is_final and state.pk not in leads_out:
            raise DomainError(
                _(
                    "The state “%(state)s” is not final but no outcome leads out of it "
                    "(an attempt leaves the customer where it is). Add an outcome that moves "
                    "the customer on, or make the state final."
                )
                % {"state": state.name},
                field="outcomes",
            )

    reached = _reachable(entry, outcomes)
    for state in states:
        if state.pk not in reached:
            raise DomainError(
                _(
                    "The state “%(state)s” cannot be reached from the entry state “%(entry)s”: "
                    "no outcome leads there."
                )
                % {"state": state.name, "entry": entry.name},
                field="states",
            )


def _validate_outcome(flow: Flow, outcome: Outcome) -> None:
    """One outcome's own rules: its states belong to the flow, and offer and follow-up fit."""
    names = {"outcome": outcome.name}
    target = outcome.to_state
    if target is not None and target.flow_id != flow.pk:
        raise DomainError(
            _("The outcome “%(outcome)s” leads to the state “%(state)s” of another flow.")
            % {**names, "state": target.name},
            field="to_state",
        )
    sources = list(outcome.from_states.all())
    if not sources:
        raise DomainError(
            _("The outcome “%(outcome)s” is not offered from any state.") % names,
            field="from_states",
        )
    for source in sources:
        if source.flow_id != flow.pk:
            raise DomainError(
                _(
                    "The outcome “%(outcome)s” is offered from the state “%(state)s” "
                    "of another flow."
                )
                % {**names, "state": source.name},
                field="from_states",
            )
        if source.is_final:
            raise DomainError(
                _(
                    "The outcome “%(outcome)s” is offered from the final state “%(state)s”, "
                    "where no further work is done."
                )
                % {**names, "state": source.name},
                field="from_states",
            )
    if target is not None and target.is_final and outcome.follow_up != FollowUpRule.NONE:
        raise DomainError(
            _(
                "The outcome “%(outcome)s” leads to the final state “%(state)s”, "
                "so it cannot offer a follow-up."
            )
            % {**names, "state": target.name},
            field="follow_up",
        )
    if (
        target is not None
        and target.kind in (StateKind.FOLLOW_UP, StateKind.IN_PROGRESS)
        and outcome.follow_up != FollowUpRule.REQUIRED
    ):
        # Rule 10: such a state is worked only through its follow-up; without one the
        # customer would be presented to no one.
        raise DomainError(
            _(
                "The outcome “%(outcome)s” leads to “%(state)s”, where customers are worked "
                "through their follow-up, so it must require a follow-up."
            )
            % {**names, "state": target.name},
            field="follow_up",
        )
    if outcome.follow_up == FollowUpRule.NONE and outcome.follow_up_default_minutes is not None:
        raise DomainError(
            _(
                "The outcome “%(outcome)s” has a default follow-up delay but offers no "
                "follow-up. Clear the delay or offer a follow-up."
            )
            % names,
            field="follow_up_default_minutes",
        )


def _reachable(entry: State, outcomes: list[Outcome]) -> set[int]:
    """The states a customer can get to from ``entry`` through progressive outcomes."""
    edges: dict[int, set[int]] = {}
    for outcome in outcomes:
        if outcome.to_state_id is None:
            continue
        for source in outcome.from_states.all():
            edges.setdefault(source.pk, set()).add(outcome.to_state_id)
    reached = {entry.pk}
    queue = deque([entry.pk])
    while queue:
        for target in edges.get(queue.popleft(), ()):
            if target not in reached:
                reached.add(target)
                queue.append(target)
    return reached


# --- Export ---------------------------------------------------------------------------------


def flow_export(flow: Flow) -> dict[str, Any]:
    """The flow as a JSON-ready file that names states and outcomes by key, never by id."""
    states = list(flow.states.order_by("position", "id"))
    outcomes = (
        flow.outcomes.order_by("position", "id")
        .select_related("to_state")
        .prefetch_related(
            Prefetch("from_states", queryset=State.objects.order_by("position", "id"))
        )
    )
    return {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "name": flow.name,
        "description": flow.description,
        "states": [
            {"key": s.key, "name": s.name, "kind": s.kind, "position": s.position} for s in states
        ],
        "outcomes": [
            {
                "key": o.key,
                "name": o.name,
                "description": o.description,
                "from_states": [s.key for s in o.from_states.all()],
                "to_state": o.to_state.key if o.to_state else None,
                "follow_up": o.follow_up,
                "follow_up_default_minutes": o.follow_up_default_minutes,
                "comment_required": o.comment_required,
                "products": o.products,
                "books_meeting": o.books_meeting,
                "report_category": o.report_category,
                "position": o.position,
            }
            for o in outcomes
        ],
    }


# --- Import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StateSpec:
    key: str
    name: str
    kind: str
    position: int


@dataclass(frozen=True)
class _OutcomeSpec:
    key: str
    name: str
    description: str
    from_states: list[str]
    to_state: str | None
    follow_up: str
    follow_up_default_minutes: int | None
    comment_required: bool
    products: str
    books_meeting: bool
    report_category: str
    position: int


def flow_file_parse(content: str | bytes) -> dict[str, Any]:
    """Read a flow file's text; anything but a JSON object is refused on the field "file"."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError(
            _("The file is not valid JSON: %(error)s") % {"error": exc}, field="file"
        ) from exc
    if not isinstance(data, dict):
        raise DomainError(_("The file must hold one JSON object, a flow."), field="file")
    return data


@transaction.atomic
def flow_import(actor: User | Process, *, data: dict[str, Any], name: str | None = None) -> Flow:
    """Create a flow from an exported file; a malformed file, a taken name or an invalid
    flow is refused and leaves nothing behind."""
    _require_flow_setup(actor)
    flow_name, description, state_specs, outcome_specs = _read_file(data, name)
    if Flow.objects.filter(name=flow_name).exists():
        raise _name_taken(flow_name)
    try:
        with transaction.atomic():
            flow = Flow.objects.create(name=flow_name, description=description)
    except IntegrityError as exc:  # created meanwhile by someone else
        raise _name_taken(flow_name) from exc

    states = {
        spec.key: State.objects.create(
            flow=flow, key=spec.key, name=spec.name, kind=spec.kind, position=spec.position
        )
        for spec in state_specs
    }
    for spec in outcome_specs:
        outcome = Outcome.objects.create(
            flow=flow,
            key=spec.key,
            name=spec.name,
            description=spec.description,
            to_state=states[spec.to_state] if spec.to_state else None,
            follow_up=spec.follow_up,
            follow_up_default_minutes=spec.follow_up_default_minutes,
            comment_required=spec.comment_required,
            products=spec.products,
            books_meeting=spec.books_meeting,
            report_category=spec.report_category,
            position=spec.position,
        )
        outcome.from_states.set([states[key] for key in spec.from_states])

    try:
        flow_validate(flow)
    except DomainError as exc:
        raise DomainError(exc.message, field="file", code=exc.code) from exc
    audit(actor, "flow.import", flow, after=flow_export(flow))
    return flow


def _name_taken(name: str) -> DomainError:
    return DomainError(
        _("A flow named “%(name)s” already exists. Choose another name.") % {"name": name},
        field="name",
    )


def _file_error(where: str, problem: str) -> DomainError:
    return DomainError(
        _("%(where)s: %(problem)s") % {"where": where, "problem": problem}, field="file"
    )


def _read_file(
    data: Any, name: str | None
) -> tuple[str, str, list[_StateSpec], list[_OutcomeSpec]]:
    """Check a flow file's shape and turn it into specs; every fault names where it is."""
    where = _("The file")
    if not isinstance(data, dict):
        raise DomainError(_("The file must hold one JSON object, a flow."), field="file")
    if data.get("format") != FILE_FORMAT:
        raise _file_error(
            where,
            _("this is not a Kundeflyt flow file (“format” must be “%(format)s”).")
            % {"format": FILE_FORMAT},
        )
    if data.get("version") != FILE_VERSION:
        raise _file_error(
            where,
            _(
                "version %(version)s is not supported; this version of Kundeflyt reads "
                "version %(ours)s."
            )
            % {"version": data.get("version"), "ours": FILE_VERSION},
        )
    _no_unknown_fields(data, _FLOW_FIELDS, where)

    flow_name = name if name is not None else data.get("name")
    if not isinstance(flow_name, str) or not flow_name.strip():
        raise DomainError(_("The flow needs a name."), field="name")
    flow_name = flow_name.strip()
    if len(flow_name) > _NAME_MAX_LENGTH:
        raise DomainError(
            _("The flow name is longer than %(max)d characters.") % {"max": _NAME_MAX_LENGTH},
            field="name",
        )
    description = _text(data, "description", where, required=False, max_length=LONG_TEXT)

    raw_states = _list(data, "states", where)
    states: list[_StateSpec] = []
    for number, raw in enumerate(raw_states, start=1):
        item_where = _("State %(number)d") % {"number": number}
        item = _object(raw, item_where)
        key = _key(item, item_where)
        item_where = _("State “%(key)s”") % {"key": key}
        _no_unknown_fields(item, _STATE_FIELDS, item_where)
        if any(s.key == key for s in states):
            raise _file_error(item_where, _("the key is used by another state."))
        states.append(
            _StateSpec(
                key=key,
                name=_text(item, "name", item_where, required=True, max_length=_NAME_MAX_LENGTH),
                kind=_choice(item, "kind", item_where, StateKind.values, default=None),
                position=_position(item, item_where, default=number - 1),
            )
        )
    state_keys = {s.key for s in states}

    raw_outcomes = _list(data, "outcomes", where)
    outcomes: list[_OutcomeSpec] = []
    for number, raw in enumerate(raw_outcomes, start=1):
        item_where = _("Outcome %(number)d") % {"number": number}
        item = _object(raw, item_where)
        key = _key(item, item_where)
        item_where = _("Outcome “%(key)s”") % {"key": key}
        _no_unknown_fields(item, _OUTCOME_FIELDS, item_where)
        if any(o.key == key for o in outcomes):
            raise _file_error(item_where, _("the key is used by another outcome."))
        from_states = _state_refs(item, item_where, state_keys)
        to_state = item.get("to_state")
        if to_state is not None and (not isinstance(to_state, str) or to_state not in state_keys):
            raise _file_error(
                item_where,
                _("“to_state” names the state %(key)s, which the file does not define.")
                % {"key": json.dumps(to_state, ensure_ascii=False)},
            )
        outcomes.append(
            _OutcomeSpec(
                key=key,
                name=_text(item, "name", item_where, required=True, max_length=_NAME_MAX_LENGTH),
                description=_text(
                    item, "description", item_where, required=False, max_length=LONG_TEXT
                ),
                from_states=from_states,
                to_state=to_state,
                follow_up=_choice(
                    item, "follow_up", item_where, FollowUpRule.values, default=FollowUpRule.NONE
                ),
                follow_up_default_minutes=_minutes(item, item_where),
                comment_required=_bool(item, "comment_required", item_where),
                products=_choice(
                    item, "products", item_where, ProductRule.values, default=ProductRule.NONE
                ),
                books_meeting=_bool(item, "books_meeting", item_where),
                report_category=_text(
                    item,
                    "report_category",
                    item_where,
                    required=False,
                    max_length=_CATEGORY_MAX_LENGTH,
                ),
                position=_position(item, item_where, default=number - 1),
            )
        )
    return flow_name, description, states, outcomes


def _no_unknown_fields(item: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(item) - known)
    if unknown:
        raise _file_error(
            where,
            _("unknown field “%(field)s”; known fields are %(known)s.")
            % {"field": unknown[0], "known": ", ".join(sorted(known))},
        )


def _object(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _file_error(where, _("must be a JSON object."))
    return raw


def _list(item: dict[str, Any], field: str, where: str) -> list[Any]:
    value = item.get(field)
    if not isinstance(value, list):
        raise _file_error(where, _("“%(field)s” must be a list.") % {"field": field})
    return value


def _key(item: dict[str, Any], where: str) -> str:
    value = item.get("key")
    if not isinstance(value, str) or not slug_re.match(value) or len(value) > _KEY_MAX_LENGTH:
        raise _file_error(
            where,
            _("“key” must be 1 to %(max)d letters, digits, underscores or hyphens, not %(value)s.")
            % {"max": _KEY_MAX_LENGTH, "value": json.dumps(value, ensure_ascii=False)},
        )
    return value


def _text(
    item: dict[str, Any], field: str, where: str, *, required: bool, max_length: int | None
) -> str:
    value = item.get(field, "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str):
        raise _file_error(where, _("“%(field)s” must be text.") % {"field": field})
    value = value.strip()
    if required and not value:
        raise _file_error(where, _("“%(field)s” must not be empty.") % {"field": field})
    if max_length is not None and len(value) > max_length:
        raise _file_error(
            where,
            _("“%(field)s” is longer than %(max)d characters.")
            % {"field": field, "max": max_length},
        )
    return value


def _choice(
    item: dict[str, Any], field: str, where: str, choices: list[str], *, default: str | None
) -> str:
    value = item.get(field, default)
    if value not in choices:
        raise _file_error(
            where,
            _("“%(field)s” is %(value)s; it must be one of %(choices)s.")
            % {
                "field": field,
                "value": json.dumps(value, ensure_ascii=False),
                "choices": ", ".join(choices),
            },
        )
    return str(value)


def _bool(item: dict[str, Any], field: str, where: str) -> bool:
    value = item.get(field, False)
    if not isinstance(value, bool):
        raise _file_error(where, _("“%(field)s” must be true or false.") % {"field": field})
    return value


def _position(item: dict[str, Any], where: str, *, default: int) -> int:
    value = item.get("position", default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _file_error(where, _("“position” must be a whole number of 0 or more."))
    return value


def _minutes(item: dict[str, Any], where: str) -> int | None:
    value = item.get("follow_up_default_minutes")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _file_error(
            where, _("“follow_up_default_minutes” must be empty or a whole number of 0 or more.")
        )
    return value


def _state_refs(item: dict[str, Any], where: str, state_keys: set[str]) -> list[str]:
    refs = _list(item, "from_states", where)
    for ref in refs:
        if not isinstance(ref, str) or ref not in state_keys:
            raise _file_error(
                where,
                _("“from_states” names the state %(key)s, which the file does not define.")
                % {"key": json.dumps(ref, ensure_ascii=False)},
            )
    if len(set(refs)) != len(refs):
        raise _file_error(where, _("“from_states” names a state more than once."))
    return refs


# --- Edits and the standard flow ------------------------------------------------------------


@transaction.atomic
def flow_save_checked(
    actor: User | Process, *, flow: Flow, before: dict[str, Any] | None = None
) -> Flow:
    """Keep an edited flow only if it is valid. Call it inside the transaction that saved the
    edit, so a refusal rolls the edit back; ``before`` is the flow's export before the edit."""
    _require_flow_setup(actor)
    flow_validate(flow)
    audit(actor, "flow.save", flow, before=before, after=flow_export(flow))
    return flow


def standard_flow(actor: User | Process) -> Flow:
    """The shipped "Standard telemarketing" flow, imported the first time it is asked for."""
    existing = Flow.objects.filter(name=STANDARD_FLOW_NAME).first()
    if existing is not None:
        return existing
    data = flow_file_parse(STANDARD_FLOW_FILE.read_text(encoding="utf-8"))
    try:
        return flow_import(actor, data=data, name=STANDARD_FLOW_NAME)
    except DomainError as exc:
        if exc.field != "name":
            raise
        return Flow.objects.get(name=STANDARD_FLOW_NAME)  # imported meanwhile by someone else
