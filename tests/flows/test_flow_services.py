"""Flows: validation when saved, export and import as files, the shipped standard flow."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import models, transaction
from django.utils import translation

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.errors import DomainError, NotAllowed
from kundeflyt.common.models import AuditEntry
from kundeflyt.flows import services
from kundeflyt.flows.models import Flow, Outcome, State, StateKind
from kundeflyt.flows.services import (
    STANDARD_FLOW_FILE,
    flow_export,
    flow_file_parse,
    flow_import,
    flow_save_checked,
    flow_validate,
    standard_flow,
)
from tests.factories import UserFactory, simple_flow

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def admin() -> User:
    return UserFactory(perms=[Perm.ADMINISTRATOR])


def _rows() -> dict[str, int]:
    return {
        "flows": Flow.objects.count(),
        "states": State.objects.count(),
        "outcomes": Outcome.objects.count(),
        "offers": Outcome.from_states.through.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def _state(flow: Flow, key: str) -> State:
    return flow.states.get(key=key)


def _outcome(flow: Flow, key: str) -> Outcome:
    return flow.outcomes.get(key=key)


# --- Validation: each rule refuses an edit, names the field, and the edit is rolled back -----


def _no_available_state(flow: Flow) -> None:
    State.objects.filter(flow=flow, key="available").update(kind=StateKind.IN_PROGRESS)


def _unreachable_state(flow: Flow) -> None:
    State.objects.create(flow=flow, key="lost", name="Borte", kind=StateKind.FINAL, position=9)


def _state_with_only_attempts(flow: Flow) -> None:
    meeting = State.objects.create(
        flow=flow, key="meeting", name="Møte", kind=StateKind.IN_PROGRESS, position=9
    )
    book = Outcome.objects.create(
        flow=flow, key="book", name="Book møte", to_state=meeting, follow_up="required"
    )
    book.from_states.set([_state(flow, "available")])
    _outcome(flow, "no_answer").from_states.add(meeting)


def _state_with_only_a_loop(flow: Flow) -> None:
    meeting = State.objects.create(
        flow=flow, key="meeting", name="Møte", kind=StateKind.IN_PROGRESS, position=9
    )
    book = Outcome.objects.create(
        flow=flow, key="book", name="Book møte", to_state=meeting, follow_up="required"
    )
    book.from_states.set([_state(flow, "available"), meeting])


def _offered_from_final(flow: Flow) -> None:
    _outcome(flow, "sold").from_states.add(_state(flow, "sold"))


def _offered_from_nowhere(flow: Flow) -> None:
    _outcome(flow, "sold").from_states.clear()


def _follow_up_into_final(flow: Flow) -> None:
    Outcome.objects.filter(flow=flow, key="sold").update(follow_up="optional")


def _no_follow_up_into_follow_up_state(flow: Flow) -> None:
    Outcome.objects.filter(flow=flow, key="offer_sent").update(follow_up="none")


def _optional_follow_up_into_in_progress_state(flow: Flow) -> None:
    """Rule 10: a meeting booked without a follow-up would be presented to no one."""
    meeting = State.objects.create(
        flow=flow, key="meeting", name="Møte booket", kind=StateKind.IN_PROGRESS, position=9
    )
    book = Outcome.objects.create(
        flow=flow, key="book", name="Book møte", to_state=meeting, follow_up="optional"
    )
    book.from_states.set([_state(flow, "available")])
    _outcome(flow, "sold").from_states.add(meeting)


def _delay_without_follow_up(flow: Flow) -> None:
    Outcome.objects.filter(flow=flow, key="no_answer").update(follow_up_default_minutes=30)


def _target_in_other_flow(flow: Flow) -> None:
    other = simple_flow("Annen flyt")
    Outcome.objects.filter(flow=flow, key="sold").update(to_state=_state(other, "sold"))


def _offered_from_other_flow(flow: Flow) -> None:
    other = simple_flow("Annen flyt")
    _outcome(flow, "sold").from_states.add(_state(other, "offer"))


@pytest.mark.parametrize(
    ("break_flow", "field", "named"),
    [
        (_no_available_state, "states", ["Available"]),
        (_unreachable_state, "states", ["Borte", "Ledig"]),
        (_state_with_only_attempts, "outcomes", ["Møte"]),
        (_state_with_only_a_loop, "outcomes", ["Møte"]),
        (_offered_from_final, "from_states", ["Salg", "Solgt"]),
        (_offered_from_nowhere, "from_states", ["Salg"]),
        (_follow_up_into_final, "follow_up", ["Salg", "Solgt"]),
        (_no_follow_up_into_follow_up_state, "follow_up", ["Tilbud sendt"]),
        (_optional_follow_up_into_in_progress_state, "follow_up", ["Book møte", "Møte booket"]),
        (_delay_without_follow_up, "follow_up_default_minutes", ["Ikke svar"]),
        (_target_in_other_flow, "to_state", ["Salg", "another flow"]),
        (_offered_from_other_flow, "from_states", ["Salg", "another flow"]),
    ],
)
def test_an_invalid_edit_is_refused_naming_the_field_and_rolled_back(
    admin: User, break_flow: Callable[[Flow], None], field: str, named: list[str]
) -> None:
    # Given a valid flow
    flow = simple_flow()
    before, rows = flow_export(flow), _rows()

    # When an administrator saves an edit that breaks a rule
    with pytest.raises(DomainError) as refused, transaction.atomic():
        break_flow(flow)
        flow_save_checked(admin, flow=flow, before=before)

    # Then it is refused on the field at fault, naming what is wrong, and nothing changed
    assert refused.value.field == field
    for name in named:
        assert name in refused.value.message
    assert flow_export(flow) == before
    assert _rows() == rows


def test_flow_validate_refuses_without_saving_anything() -> None:
    flow = simple_flow()
    _offered_from_final(flow)
    rows = _rows()

    with pytest.raises(DomainError) as refused:
        flow_validate(flow)

    assert refused.value.field == "from_states"
    assert _rows() == rows


def test_a_valid_edit_is_kept_and_audited(admin: User) -> None:
    flow = simple_flow()
    before = flow_export(flow)

    # An attempt may register products: a rule that is allowed
    Outcome.objects.filter(flow=flow, key="no_answer").update(products="offered")
    flow_save_checked(admin, flow=flow, before=before)

    entry = AuditEntry.objects.get(action="flow.save")
    assert entry.actor_user == admin
    assert entry.object_id == str(flow.pk)
    assert entry.before == before
    assert entry.after == flow_export(flow)
    assert entry.after["outcomes"][0]["products"] == "offered"


def test_the_test_flow_is_valid() -> None:
    flow_validate(simple_flow())


# --- Export and import ----------------------------------------------------------------------


def test_export_is_json_and_names_states_by_key() -> None:
    exported = flow_export(simple_flow())

    assert json.loads(json.dumps(exported)) == exported
    assert exported["format"] == "kundeflyt-flow"
    assert exported["version"] == 1
    assert [s["key"] for s in exported["states"]] == ["available", "offer", "sold", "refused"]
    sale = next(o for o in exported["outcomes"] if o["key"] == "sold")
    assert sale["from_states"] == ["available", "offer"]
    assert sale["to_state"] == "sold"
    no_answer = next(o for o in exported["outcomes"] if o["key"] == "no_answer")
    assert no_answer["to_state"] is None


def test_export_then_import_gives_the_same_flow_under_a_new_name(admin: User) -> None:
    original = flow_export(simple_flow())

    copy_ = flow_import(admin, data=json.loads(json.dumps(original)), name="Kopi")

    assert flow_export(copy_) == {**original, "name": "Kopi"}
    entry = AuditEntry.objects.get(action="flow.import")
    assert entry.actor_user == admin
    assert entry.object_id == str(copy_.pk)
    assert entry.after == flow_export(copy_)


def test_import_takes_the_name_from_the_file_unless_given(admin: User) -> None:
    data = flow_export(simple_flow())
    data["name"] = "Fra fil"

    assert flow_import(admin, data=data).name == "Fra fil"


def test_import_refuses_a_name_that_is_taken_and_leaves_nothing(admin: User) -> None:
    flow = simple_flow()
    data, rows = flow_export(flow), _rows()

    with pytest.raises(DomainError) as refused:
        flow_import(admin, data=data)

    assert refused.value.field == "name"
    assert flow.name in refused.value.message
    assert _rows() == rows


def _set_outcome(key: str, field: str, value: object) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        next(o for o in data["outcomes"] if o["key"] == key)[field] = value

    return apply


def _set_state(key: str, field: str, value: object) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        next(s for s in data["states"] if s["key"] == key)[field] = value

    return apply


@pytest.mark.parametrize(
    ("break_file", "field", "named"),
    [
        (lambda d: d.update(format="something-else"), "file", ["format"]),
        (lambda d: d.update(version=2), "file", ["version 2"]),
        (lambda d: d.update(states={"available": {}}), "file", ["states", "list"]),
        (lambda d: d.pop("outcomes"), "file", ["outcomes", "list"]),
        (lambda d: d.update(colour="blue"), "file", ["colour"]),
        (lambda d: d["states"].append("sold"), "file", ["State 5", "object"]),
        (lambda d: d["states"][0].pop("key"), "file", ["State 1", "key"]),
        (_set_state("sold", "key", "has space"), "file", ["State 3", "has space"]),
        (_set_state("sold", "kind", "ledig"), "file", ["sold", "kind", "ledig"]),
        (_set_state("sold", "name", ""), "file", ["sold", "name", "empty"]),
        (_set_state("sold", "position", True), "file", ["sold", "position"]),
        (_set_state("refused", "key", "sold"), "file", ["sold", "another state"]),
        (_set_outcome("refused", "key", "sold"), "file", ["sold", "another outcome"]),
        (_set_outcome("sold", "from_states", ["available", "nowhere"]), "file", ["nowhere"]),
        (_set_outcome("sold", "from_states", ["available", "available"]), "file", ["once"]),
        (_set_outcome("sold", "from_states", "available"), "file", ["from_states", "list"]),
        (_set_outcome("sold", "to_state", "paradise"), "file", ["Outcome “sold”", "paradise"]),
        (_set_outcome("sold", "to_state", ["sold"]), "file", ["to_state"]),
        (_set_outcome("sold", "follow_up", "sometimes"), "file", ["follow_up", "sometimes"]),
        (_set_outcome("sold", "products", "given"), "file", ["products", "given"]),
        (_set_outcome("call_back", "follow_up_default_minutes", -5), "file", ["minutes"]),
        (_set_outcome("call_back", "follow_up_default_minutes", "60"), "file", ["minutes"]),
        (_set_outcome("sold", "comment_required", "yes"), "file", ["comment_required"]),
        (_set_outcome("sold", "report_category", "x" * 61), "file", ["report_category"]),
        (_set_outcome("sold", "shine", True), "file", ["Outcome “sold”", "shine"]),
        (lambda d: d.update(name=" "), "name", ["name"]),
        (lambda d: d.update(name="x" * 121), "name", ["120"]),
        # The shape is right but the flow is not: refused after its rows were made
        (_set_outcome("sold", "from_states", ["sold"]), "file", ["Salg", "Solgt"]),
        (_set_outcome("sold", "follow_up", "required"), "file", ["Salg", "follow-up"]),
        (_set_state("available", "kind", "in_progress"), "file", ["Available"]),
    ],
)
def test_a_bad_file_is_refused_clearly_and_leaves_no_rows(
    admin: User,
    break_file: Callable[[dict[str, Any]], object],
    field: str,
    named: list[str],
) -> None:
    data = flow_export(simple_flow())
    data["name"] = "Importert"
    break_file(data)
    rows = _rows()

    with pytest.raises(DomainError) as refused:
        flow_import(admin, data=copy.deepcopy(data))

    assert refused.value.field == field
    for name in named:
        assert name in refused.value.message
    assert _rows() == rows


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", b"\xff\xfe", "null"])
def test_a_file_that_is_not_a_json_object_is_refused(content: str | bytes) -> None:
    with pytest.raises(DomainError) as refused:
        flow_file_parse(content)

    assert refused.value.field == "file"


def test_import_refuses_data_that_is_not_an_object(admin: User) -> None:
    with pytest.raises(DomainError) as refused:
        flow_import(admin, data=[], name="Liste")  # type: ignore[arg-type]

    assert refused.value.field == "file"


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [
        (Flow, "name", services._NAME_MAX_LENGTH),
        (State, "name", services._NAME_MAX_LENGTH),
        (Outcome, "name", services._NAME_MAX_LENGTH),
        (State, "key", services._KEY_MAX_LENGTH),
        (Outcome, "key", services._KEY_MAX_LENGTH),
        (Outcome, "report_category", services._CATEGORY_MAX_LENGTH),
    ],
)
def test_the_file_length_limits_follow_the_models(
    model: type[Flow | State | Outcome], field: str, limit: int
) -> None:
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, models.CharField)
    assert model_field.max_length == limit


# --- Permissions ----------------------------------------------------------------------------


def test_an_agent_may_not_import_or_save_flows() -> None:
    agent = UserFactory()
    flow = simple_flow()
    data, rows = flow_export(flow), _rows()

    with pytest.raises(NotAllowed) as refused:
        flow_import(agent, data=data, name="Kopi")
    assert "Administrator" in refused.value.message
    assert "Campaign setup" in refused.value.message

    with pytest.raises(NotAllowed):
        flow_save_checked(agent, flow=flow)

    with pytest.raises(NotAllowed):
        standard_flow(agent)

    assert _rows() == rows


def test_campaign_setup_may_import_flows() -> None:
    user = UserFactory(perms=[Perm.CAMPAIGN_SETUP])

    flow = flow_import(user, data=flow_export(simple_flow()), name="Kopi")

    assert flow.name == "Kopi"


# --- The standard flow ----------------------------------------------------------------------


def test_the_standard_flow_imports_validates_and_is_imported_once(admin: User) -> None:
    flow = standard_flow(admin)

    flow_validate(flow)
    assert flow.name == "Standard telemarketing"
    assert flow.entry_state().key == "available"
    assert flow_export(flow) == json.loads(STANDARD_FLOW_FILE.read_text(encoding="utf-8"))
    assert {s.key: s.kind for s in flow.states.all()} == {
        "available": "available",
        "meeting_booked": "in_progress",
        "offer_sent": "follow_up",
        "sold": "final",
        "not_interested": "final",
        "wrong_number": "final",
    }
    meeting = _outcome(flow, "meeting_booked")
    assert meeting.books_meeting
    assert meeting.follow_up == "required"  # rule 10: in progress needs a follow-up
    assert meeting.follow_up_default_minutes == 1440
    assert _outcome(flow, "call_back").follow_up_default_minutes == 120
    assert _outcome(flow, "offer_sent").products == "offered"
    assert _outcome(flow, "sold").products == "sold"
    assert all(o.description and o.report_category for o in flow.outcomes.all())

    assert standard_flow(UserFactory()) == flow  # getting it needs no permission
    assert Flow.objects.filter(name="Standard telemarketing").count() == 1


# --- Management commands --------------------------------------------------------------------


def test_the_commands_round_trip_through_a_file(tmp_path: Path) -> None:
    flow = simple_flow("Test flow")
    path = tmp_path / "flow.json"

    call_command("flow_export", "Test flow", str(path))
    assert json.loads(path.read_text(encoding="utf-8")) == flow_export(flow)

    call_command("flow_import", str(path), "--name", "Kopi")
    copy_ = Flow.objects.get(name="Kopi")
    assert flow_export(copy_) == {**flow_export(flow), "name": "Kopi"}
    entry = AuditEntry.objects.get(action="flow.import")
    assert entry.actor_user is None
    assert entry.actor_process == "flow-import"


def test_the_commands_report_errors(tmp_path: Path) -> None:
    simple_flow("Test flow")
    path = tmp_path / "flow.json"
    call_command("flow_export", "Test flow", str(path))
    rows = _rows()

    with pytest.raises(CommandError, match="already exists"):
        call_command("flow_import", str(path))
    with pytest.raises(CommandError, match="no flow named"):
        call_command("flow_export", "Ingen", str(tmp_path / "none.json"))
    with pytest.raises(CommandError, match="Could not read"):
        call_command("flow_import", str(tmp_path / "missing.json"))
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("flow_import", str(path), "--name", "Kopi")
    assert _rows() == rows
