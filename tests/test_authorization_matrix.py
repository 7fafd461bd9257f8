"""The authorization matrix (issue 9): every route of the URL configuration, the admin
included, requested as each kind of user, with the objects of one data owner (Alfa). The
expected answer of each route and role is in one table below; a route without a row fails.

Answers: a status code, ``L`` for a redirect to a login page, ``R`` for another redirect and
``R!`` for a redirect that carries a refusal (an error message).
POST-only routes are requested with an empty POST (their GET answers 405 for everyone).
Roles, in order: anonymous, agent (Alfa), supervisor (Alfa), administrator (the permission,
staff, Alfa), campaign setup (staff, Alfa), other (an agent of Bravo), superuser.

Set ``MATRIX_PRINT=1`` to print the answers seen, as a table to review and paste.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import ERROR, get_messages
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.models import ApiToken
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Event
from kundeflyt.telephony.models import ProviderAccount
from tests.factories import UserFactory
from tests.matrix import check_table
from tests.test_admin_scope import Scene, build_scene

ROLES = ("anonymous", "agent", "supervisor", "administrator", "setup", "other", "superuser")


def routes() -> list[tuple[str, URLPattern, str]]:
    """Every route: its name (namespaced; the pattern when unnamed), pattern and prefix."""
    found: list[tuple[str, URLPattern, str]] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = (
                    f"{namespace}:{p.namespace}"
                    if namespace and p.namespace
                    else (p.namespace or namespace)
                )
                walk(p.url_patterns, prefix + str(p.pattern), inner or "")
            else:
                name = p.name or f"<{prefix}{p.pattern}>"
                found.append((f"{namespace}:{name}" if namespace else name, p, prefix))

    walk(get_resolver().url_patterns, "", "")
    return found


def admin_model(route: str) -> type | None:
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if route.startswith(prefix):
            return model
    return None


def url_for(route: str, pattern: URLPattern, prefix: str, scene: Scene) -> str:
    alfa = scene.alfa
    customer = alfa[Customer]
    kwargs: dict[str, Any] = {}
    for name in pattern.pattern.regex.groupindex:
        match name:
            case "customer_id":
                kwargs[name] = customer.pk
            case "event_id":
                kwargs[name] = alfa[Event].pk
            case "campaign_id":
                kwargs[name] = customer.placement.campaign_id
            case "crm_id":
                kwargs[name] = customer.crm_id
            case "data_owner_id":
                kwargs[name] = alfa.owner.pk
            case "batch_id":
                kwargs[name] = import_batch(customer.crm_id)
            case "key":
                kwargs[name] = "name"
            case "report":
                kwargs[name] = "activity"
            case "table":
                kwargs[name] = "people"
            case "fmt":
                kwargs[name] = "csv"
            case "app_label":
                kwargs[name] = "crm"
            case "content_type_id":
                kwargs[name] = ContentType.objects.get_for_model(Customer).pk
            case "object_id" | "pk" | "id":
                model = admin_model(route) or User
                if route == "admin:view_on_site":
                    model = Customer
                if route.startswith("api_tokens:"):
                    model = ApiToken
                if route.startswith("webhooks:"):
                    kwargs[name] = alfa_webhook(customer.crm_id, route)
                    continue
                kwargs[name] = alfa[model].pk
            case "account_id":
                kwargs[name] = alfa[ProviderAccount].pk
            case "kind":
                kwargs[name] = "sms-status"
            case "url":
                kwargs[name] = "no-such-page/"
            case "uidb64" | "token":
                kwargs[name] = "MQ" if name == "uidb64" else "set-password"  # a spent link
            case "subscription_id" | "delivery_id" | "import_id":
                kwargs[name] = 1  # the API answers the session 401 before it looks
    if pattern.name:
        return reverse(route, kwargs=kwargs)
    # An unnamed route (the admin's redirects): build the path from the pattern itself.
    path = "/" + prefix + str(pattern.pattern)
    for name, value in kwargs.items():
        path = path.replace(f"<path:{name}>", str(value))
    return path.replace("^", "").replace("$", "")


def alfa_webhook(crm_id: int, route: str) -> int:
    """A subscription of Alfa's data owner with one message (made again after the
    superuser's removal), or for ``webhooks:redeliver`` the message."""
    from kundeflyt.crm.models import CRM
    from kundeflyt.webhooks.models import Delivery, Subscription

    owner = CRM.objects.get(pk=crm_id).data_owner
    subscription, _made = Subscription.objects.get_or_create(
        data_owner=owner,
        defaults={"url": "https://alfa.example/hook", "events": ["customer.created"]},
    )
    delivery, _made = Delivery.objects.get_or_create(
        subscription=subscription,
        defaults={
            "message_id": f"msg_alfa_{subscription.pk}",
            "event_type": "customer.created",
            "payload": {},
        },
    )
    return delivery.pk if route == "webhooks:redeliver" else subscription.pk


def import_batch(crm_id: int) -> int:
    """A finished import into Alfa's CRM, with one row rejected (made once, by a process)."""
    from kundeflyt.common.actors import Process
    from kundeflyt.crm.models import CRM
    from kundeflyt.imports import services
    from kundeflyt.imports.models import ImportBatch

    found = ImportBatch.objects.filter(crm_id=crm_id).first()
    if found is not None:
        return found.pk
    setup = Process("test-setup")
    batch = services.import_upload(
        setup,
        crm=CRM.objects.get(pk=crm_id),
        file_name="kunder.csv",
        content=[b"Kundenr;Navn\r\nimp-1;Kari\r\n;Ola\r\n"],
    )
    services.import_start(setup, batch=batch, mapping=services.mapping_of(batch), enqueue=False)
    services.run_import(batch.pk)
    return batch.pk


def answer(response: Any) -> str:
    if response.status_code in (301, 302):
        if "/login/" in response["Location"]:
            return "L"
        refused = any(m.level == ERROR for m in get_messages(response.wsgi_request))
        return "R!" if refused else "R"
    return str(response.status_code)


@pytest.fixture
def scene(admin_user: User) -> Scene:
    """The admin scoping tests' scene: two data owners with a row of every model each."""
    return build_scene(admin_user)


@pytest.fixture
def people(scene: Scene, admin_user: User) -> dict[str, User | None]:
    supervisor = UserFactory(
        username="siri",
        perms=[
            Perm.CUSTOMER_HANDLING,
            Perm.EXTENDED_CUSTOMER_HANDLING,
            Perm.CORRECT_REGISTRATIONS,
            Perm.REPORTING,
        ],
    )
    # The scene's agents have set up two-factor login; these two have not, so that every
    # page answers them without a code (the code's own pages have tests of their own).
    agent = UserFactory(username="alfa_agent2", perms=[Perm.CUSTOMER_HANDLING])
    other = UserFactory(username="bravo_agent2", perms=[Perm.CUSTOMER_HANDLING])
    scene.alfa.owner.users.add(supervisor, agent)
    scene.bravo.owner.users.add(other)
    return {
        "anonymous": None,
        "agent": agent,
        "supervisor": supervisor,
        "administrator": scene.administrator,
        "setup": scene.setup,
        "other": other,
        "superuser": admin_user,
    }


def observe(client: Client, url: str, user: User | None) -> str:
    client.logout()
    if user is not None:
        client.force_login(User.objects.get(pk=user.pk))
    got = client.get(url)
    if got.status_code == 405:
        got = client.post(url, {})
    return answer(got)


@pytest.mark.usefixtures("in_calling_hours")  # takes a consumer (DESIGN.md rule 11)
def test_every_route_answers_each_role_as_the_table_says(
    client: Client, scene: Scene, people: dict[str, User | None]
) -> None:
    seen: dict[str, str] = {}
    for route, pattern, prefix in routes():
        url = url_for(route, pattern, prefix, scene)
        seen[route] = " ".join(observe(client, url, people[role]) for role in ROLES)
    check_table(seen, EXPECTED, "routes")


# anonymous · agent · supervisor · administrator · campaign setup · other data owner · superuser
EXPECTED: dict[str, str] = {
    "healthz": "200 200 200 200 200 200 200",
    # The API takes tokens, never the session: 401 whoever is logged in to the pages
    # (tests/api/test_matrix.py holds the token × operation × data owner matrix). Its
    # schema and docs page are public: they hold no data.
    "api:api-root": "404 404 404 404 404 404 404",
    "api:openapi-json": "200 200 200 200 200 200 200",
    "api:openapi-view": "200 200 200 200 200 200 200",
    "api:me": "401 401 401 401 401 401 401",
    "api:data_owners": "401 401 401 401 401 401 401",
    "api:crms": "401 401 401 401 401 401 401",
    "api:campaigns": "401 401 401 401 401 401 401",
    "api:customers_list": "401 401 401 401 401 401 401",
    "api:customer_get": "401 401 401 401 401 401 401",
    "api:customer_new": "401 401 401 401 401 401 401",
    "api:customer_change": "401 401 401 401 401 401 401",
    "api:customers_by_customer_id": "401 401 401 401 401 401 401",
    "api:customers_by_phone": "401 401 401 401 401 401 401",
    "api:registrations_list": "401 401 401 401 401 401 401",
    "api:registrations_stream": "401 401 401 401 401 401 401",
    "api:product_lines_list": "401 401 401 401 401 401 401",
    "api:meetings_list": "401 401 401 401 401 401 401",
    "api:report_get": "401 401 401 401 401 401 401",
    "api:import_new": "401 401 401 401 401 401 401",
    "api:imports_list": "401 401 401 401 401 401 401",
    "api:import_get": "401 401 401 401 401 401 401",
    "api:customer_status": "401 401 401 401 401 401 401",
    "api:customer_relocate": "401 401 401 401 401 401 401",
    "api:follow_ups_list": "401 401 401 401 401 401 401",
    "api:follow_up_change": "405 405 405 405 405 405 405",  # PUT only; tests/api
    "api:customer_take": "401 401 401 401 401 401 401",
    "api:customer_renew": "401 401 401 401 401 401 401",
    "api:customer_let_go": "401 401 401 401 401 401 401",
    "api:registration_new": "401 401 401 401 401 401 401",
    "api:webhooks_list": "401 401 401 401 401 401 401",
    "api:webhook_new": "401 401 401 401 401 401 401",
    "api:webhook_delete": "405 405 405 405 405 405 405",  # DELETE only; tests/webhooks
    "api:webhook_enable": "401 401 401 401 401 401 401",
    "api:webhook_deliveries": "401 401 401 401 401 401 401",
    "api:webhook_redeliver": "401 401 401 401 401 401 401",
    # API tokens: made on the account page by users with API access (an empty form is
    # refused); revoked by their owner or an administrator; listed in the admin, never
    # added or deleted there.
    "api_tokens:tokens": "L 403 403 200 403 403 200",
    "api_tokens:token_new": "L R! R! R! R! R! R!",
    "api_tokens:integration_token_new": "L R! R! R! R! R! R!",
    "api_tokens:token_revoke": "L R! R! R R! R! R",
    # Webhooks need API access and campaign setup (administrators hold every permission).
    # The superuser's removal finds the subscription the administrator removed just before.
    "webhooks:subscriptions": "L R! R! 200 R! R! 200",
    "webhooks:subscription_new": "L R! R! R! R! R! R!",
    "webhooks:deliveries": "L R! R! 200 R! R! 200",
    "webhooks:enable": "L R! R! R R! R! R",
    "webhooks:delete": "L R! R! R R! R! R!",
    "webhooks:redeliver": "L R! R! R R! R! R",
    # Privacy officers (administrators and superusers hold every permission); an empty
    # objection or erasure lacks its reason and is refused with it.
    "privacy:index": "L 403 403 200 403 403 200",
    "privacy:requests": "L 403 403 200 403 403 200",
    "privacy:record": "L 403 403 200 403 403 200",
    "privacy:person": "L 403 403 200 403 403 200",
    "privacy:access": "L R! R! 200 R! R! 200",
    "privacy:object": "L R! R! R! R! R! R!",
    "privacy:erase": "L R! R! R! R! R! R!",
    "privacy:retention": "L 403 403 200 403 403 200",
    "privacy:register": "L 403 403 200 403 403 200",
    "privacy:register_upload": "L R! R! R! R! R! R!",
    "privacy:retention_change": "L R! R! R! R! R! R!",
    "admin:api_apitoken_changelist": "L L L 200 403 L 200",
    "admin:api_apitoken_add": "L L L 403 403 L 403",
    "admin:api_apitoken_history": "L L L 200 403 L 200",
    "admin:api_apitoken_delete": "L L L 403 403 L 403",
    "admin:api_apitoken_change": "L L L 200 403 L 200",
    "admin:<admin/api/apitoken/<path:object_id>/>": "L L L R R L R",
    "login": "200 R R R R R R",
    "logout": "L L L L L L L",
    # "Forgot your password?" is for anyone; a spent link says so (and sets nothing).
    "password_reset": "200 200 200 200 200 200 200",
    "password_reset_done": "200 200 200 200 200 200 200",
    "password_reset_confirm": "200 200 200 200 200 200 200",
    "password_reset_complete": "200 200 200 200 200 200 200",
    "set_language": "R R R R R R R",
    "accounts:account": "L 200 200 200 200 200 200",
    "accounts:password_change": "L 200 200 200 200 200 200",
    "accounts:two_factor_enrol": "L 200 200 200 200 200 200",
    "accounts:two_factor_verify": "L R R R R R R",
    "accounts:recovery_codes": "L R R R R R R",
    "accounts:two_factor_off": "L R R R R R R",
    "accounts:log_out_everywhere": "L L L L L L L",
    "admin:index": "L L L 200 200 L 200",
    "admin:login": "200 200 200 R R 200 R",
    "admin:logout": "R R R L L R L",
    "admin:password_change": "L L L 200 200 L 200",
    "admin:password_change_done": "L L L 200 200 L 200",
    "admin:autocomplete": "L L L 403 403 L 403",
    "admin:jsi18n": "L L L 200 200 L 200",
    "admin:view_on_site": "L L L 404 404 L 404",
    "admin:common_auditentry_changelist": "L L L 200 403 L 200",
    "admin:common_auditentry_add": "L L L 403 403 L 403",
    "admin:common_auditentry_history": "L L L 200 403 L 200",
    "admin:common_auditentry_delete": "L L L 403 403 L 403",
    "admin:common_auditentry_change": "L L L 200 403 L 200",
    "admin:<admin/common/auditentry/<path:object_id>/>": "L L L R R L R",
    "admin:auth_user_password_change": "L L L 200 403 L 200",
    "admin:accounts_user_changelist": "L L L 200 403 L 200",
    "admin:accounts_user_add": "L L L 200 403 L 200",
    "admin:accounts_user_history": "L L L 200 403 L 200",
    "admin:accounts_user_delete": "L L L 200 403 L 200",
    "admin:accounts_user_change": "L L L 200 403 L 200",
    "admin:<admin/accounts/user/<path:object_id>/>": "L L L R R L R",
    "admin:accounts_team_changelist": "L L L 200 403 L 200",
    "admin:accounts_team_add": "L L L 200 403 L 200",
    "admin:accounts_team_history": "L L L 200 403 L 200",
    "admin:accounts_team_delete": "L L L 200 403 L 200",
    "admin:accounts_team_change": "L L L 200 403 L 200",
    "admin:<admin/accounts/team/<path:object_id>/>": "L L L R R L R",
    "admin:auth_group_changelist": "L L L 200 403 L 200",
    "admin:auth_group_add": "L L L 200 403 L 200",
    "admin:auth_group_history": "L L L 200 404 L 200",
    "admin:auth_group_delete": "L L L 200 404 L 200",
    "admin:auth_group_change": "L L L 200 404 L 200",
    "admin:<admin/auth/group/<path:object_id>/>": "L L L R R L R",
    "admin:axes_accessattempt_changelist": "L L L 200 403 L 200",
    "admin:axes_accessattempt_add": "L L L 403 403 L 403",
    "admin:axes_accessattempt_history": "L L L 200 403 L 200",
    "admin:axes_accessattempt_delete": "L L L 200 403 L 200",
    "admin:axes_accessattempt_change": "L L L 200 403 L 200",
    "admin:<admin/axes/accessattempt/<path:object_id>/>": "L L L R R L R",
    "admin:axes_accesslog_changelist": "L L L 200 403 L 200",
    "admin:axes_accesslog_add": "L L L 403 403 L 403",
    "admin:axes_accesslog_history": "L L L 200 403 L 200",
    "admin:axes_accesslog_delete": "L L L 200 403 L 200",
    "admin:axes_accesslog_change": "L L L 200 403 L 200",
    "admin:<admin/axes/accesslog/<path:object_id>/>": "L L L R R L R",
    "admin:axes_accessfailurelog_changelist": "L L L 200 403 L 200",
    "admin:axes_accessfailurelog_add": "L L L 403 403 L 403",
    "admin:axes_accessfailurelog_history": "L L L 200 403 L 200",
    "admin:axes_accessfailurelog_delete": "L L L 200 403 L 200",
    "admin:axes_accessfailurelog_change": "L L L 200 403 L 200",
    "admin:<admin/axes/accessfailurelog/<path:object_id>/>": "L L L R R L R",
    "admin:otp_totp_totpdevice_config": "L L L 403 403 L 403",
    "admin:otp_totp_totpdevice_qrcode": "L L L 403 403 L 403",
    "admin:otp_totp_totpdevice_changelist": "L L L 200 403 L 200",
    "admin:otp_totp_totpdevice_add": "L L L 200 403 L 200",
    "admin:otp_totp_totpdevice_history": "L L L 200 403 L 200",
    "admin:otp_totp_totpdevice_delete": "L L L 200 403 L 200",
    "admin:otp_totp_totpdevice_change": "L L L 200 403 L 200",
    "admin:<admin/otp_totp/totpdevice/<path:object_id>/>": "L L L R R L R",
    "admin:otp_static_staticdevice_changelist": "L L L 200 403 L 200",
    "admin:otp_static_staticdevice_add": "L L L 200 403 L 200",
    "admin:otp_static_staticdevice_history": "L L L 200 403 L 200",
    "admin:otp_static_staticdevice_delete": "L L L 200 403 L 200",
    "admin:otp_static_staticdevice_change": "L L L 200 403 L 200",
    "admin:<admin/otp_static/staticdevice/<path:object_id>/>": "L L L R R L R",
    "admin:crm_dataowner_changelist": "L L L 200 200 L 200",
    "admin:crm_dataowner_add": "L L L 200 200 L 200",
    "admin:crm_dataowner_history": "L L L 200 200 L 200",
    "admin:crm_dataowner_delete": "L L L 200 200 L 200",
    "admin:crm_dataowner_change": "L L L 200 200 L 200",
    "admin:<admin/crm/dataowner/<path:object_id>/>": "L L L R R L R",
    "admin:crm_crm_changelist": "L L L 200 200 L 200",
    "admin:crm_crm_add": "L L L 200 200 L 200",
    "admin:crm_crm_history": "L L L 200 200 L 200",
    "admin:crm_crm_delete": "L L L 200 200 L 200",
    "admin:crm_crm_change": "L L L 200 200 L 200",
    "admin:<admin/crm/crm/<path:object_id>/>": "L L L R R L R",
    "admin:crm_customer_changelist": "L L L 200 200 L 200",
    "admin:crm_customer_add": "L L L 403 403 L 403",
    "admin:crm_customer_history": "L L L 200 200 L 200",
    "admin:crm_customer_delete": "L L L 403 403 L 403",
    "admin:crm_customer_change": "L L L 200 200 L 200",
    "admin:<admin/crm/customer/<path:object_id>/>": "L L L R R L R",
    "admin:crm_blockednumber_changelist": "L L L 200 200 L 200",
    "admin:crm_blockednumber_add": "L L L 200 403 L 200",
    "admin:crm_blockednumber_history": "L L L 200 200 L 200",
    "admin:crm_blockednumber_delete": "L L L 403 403 L 200",
    "admin:crm_blockednumber_change": "L L L 200 200 L 200",
    "admin:<admin/crm/blockednumber/<path:object_id>/>": "L L L R R L R",
    "admin:flows_flow_changelist": "L L L 200 200 L 200",
    "admin:flows_flow_add": "L L L 200 200 L 200",
    "admin:flows_flow_history": "L L L 200 200 L 200",
    "admin:flows_flow_delete": "L L L 200 200 L 200",
    "admin:flows_flow_change": "L L L 200 200 L 200",
    "admin:<admin/flows/flow/<path:object_id>/>": "L L L R R L R",
    "admin:flows_outcome_changelist": "L L L 200 200 L 200",
    "admin:flows_outcome_add": "L L L 200 200 L 200",
    "admin:flows_outcome_history": "L L L 200 200 L 200",
    "admin:flows_outcome_delete": "L L L 200 200 L 200",
    "admin:flows_outcome_change": "L L L 200 200 L 200",
    "admin:<admin/flows/outcome/<path:object_id>/>": "L L L R R L R",
    "admin:campaigns_campaign_changelist": "L L L 200 200 L 200",
    "admin:campaigns_campaign_add": "L L L 200 200 L 200",
    "admin:campaigns_campaign_history": "L L L 200 200 L 200",
    "admin:campaigns_campaign_delete": "L L L 200 200 L 200",
    "admin:campaigns_campaign_change": "L L L 200 200 L 200",
    "admin:<admin/campaigns/campaign/<path:object_id>/>": "L L L R R L R",
    "admin:handling_placement_changelist": "L L L 200 403 L 200",
    "admin:handling_placement_add": "L L L 403 403 L 403",
    "admin:handling_placement_history": "L L L 200 403 L 200",
    "admin:handling_placement_delete": "L L L 403 403 L 403",
    "admin:handling_placement_change": "L L L 200 403 L 200",
    "admin:<admin/handling/placement/<path:object_id>/>": "L L L R R L R",
    "admin:handling_event_changelist": "L L L 200 403 L 200",
    "admin:handling_event_add": "L L L 403 403 L 403",
    "admin:handling_event_history": "L L L 200 403 L 200",
    "admin:handling_event_delete": "L L L 403 403 L 403",
    "admin:handling_event_change": "L L L 200 403 L 200",
    "admin:<admin/handling/event/<path:object_id>/>": "L L L R R L R",
    "admin:handling_productline_changelist": "L L L 200 403 L 200",
    "admin:handling_productline_add": "L L L 403 403 L 403",
    "admin:handling_productline_history": "L L L 200 403 L 200",
    "admin:handling_productline_delete": "L L L 403 403 L 403",
    "admin:handling_productline_change": "L L L 200 403 L 200",
    "admin:<admin/handling/productline/<path:object_id>/>": "L L L R R L R",
    "admin:handling_meeting_changelist": "L L L 200 403 L 200",
    "admin:handling_meeting_add": "L L L 403 403 L 403",
    "admin:handling_meeting_history": "L L L 200 403 L 200",
    "admin:handling_meeting_delete": "L L L 403 403 L 403",
    "admin:handling_meeting_change": "L L L 200 403 L 200",
    "admin:<admin/handling/meeting/<path:object_id>/>": "L L L R R L R",
    "admin:handling_correctionrequest_changelist": "L L L 200 403 L 200",
    "admin:handling_correctionrequest_add": "L L L 403 403 L 403",
    "admin:handling_correctionrequest_history": "L L L 200 403 L 200",
    "admin:handling_correctionrequest_delete": "L L L 403 403 L 403",
    "admin:handling_correctionrequest_change": "L L L 200 403 L 200",
    "admin:<admin/handling/correctionrequest/<path:object_id>/>": "L L L R R L R",
    "admin:app_list": "L L L 200 200 L 200",
    "admin:<admin/(?P<url>.*)$>": "L L L 404 404 L 404",
    "reports:index": "L 403 R R 403 403 R",
    "reports:report": "L 403 200 200 403 403 200",
    "reports:export": "L 403 200 200 403 403 200",
    # Exports: customer lists need customer handling and extended handling or reporting,
    # registrations need reporting; an export's page and file are its maker's alone (the
    # matrix asks for an export id nobody made).
    "exports:index": "L 200 200 200 200 200 200",
    "exports:customers": "L 403 200 200 403 403 200",
    "exports:registrations": "L 403 200 200 403 403 200",
    "exports:export": "L 404 404 404 404 404 404",
    "exports:download": "L 404 404 404 404 404 404",
    "handling:customers_index": "L 403 R R R 403 200",
    "handling:crm_customers": "L 403 200 200 200 403 200",
    "handling:crm_customers_count": "L 403 200 200 200 403 200",
    "handling:crm_selection_save": "L 403 R! R! R! 403 R!",
    "handling:crm_give_out": "L 403 200 200 200 403 200",
    "handling:customer_new": "L 200 200 200 403 404 200",
    "handling:my_work": "L 200 200 200 403 200 200",
    "handling:my_overdue": "L 200 200 200 403 200 200",
    "handling:work_start": "L R! R! R! R! R! R!",
    "handling:work_next": "L R R R R R R",
    "handling:work_stop": "L R R R R R R",
    "handling:screen": "L R R R R R R",
    "handling:screen_renew": "L 200 200 200 403 200 200",
    "handling:outcome_fields": "L 200 200 200 403 200 200",
    "handling:outcome_save": "L R! R! R! R! R! R!",
    "handling:customer_object": "L R! R! R! R! R! R!",
    "handling:side_panel": "L 200 200 200 403 200 200",
    "handling:search": "L 200 200 200 403 200 200",
    "handling:customer_details": "L 200 200 200 403 404 200",
    "handling:customer_presence": "L 200 200 200 403 404 200",
    "handling:customer_fields": "L 200 200 200 403 404 200",
    "handling:customer_field": "L 200 200 200 403 404 200",
    "handling:customer_follow_up": "L R! R R R! R! R",
    "handling:customer_move": "L R! R R! R! R! R!",
    "handling:customer_contact_basis": "L R R R R! R! R",
    "handling:correction_withdraw": "L R! R! R! R! 404 R!",
    "handling:event_send_for_correction": "L R! R! R! R! 404 R!",
    "handling:event_correct": "L R! R! R! R! 404 R!",
    "handling:event_report_facts": "L R! R! R! R! 404 R!",
    "handling:selected_customers": "L 200 200 200 403 200 200",
    "handling:selection_release": "L R R R R R! R",
    "handling:customer_take": "L R R! R! R! R! R!",
    "handling:campaign_customers": "L 200 200 200 403 404 200",
    "handling:search_bulk": "L R! R! R! 403 R! R!",
    "handling:campaign_bulk": "L R! R! R! R! 404 R!",
    "handling:campaign_follow_ups_reassign": "L R! R! R! R! 404 R!",
    # Imports need campaign setup (administrators and superusers hold it too); an empty POST
    # to a finished import is refused with the reason, the first undo goes through.
    "imports:index": "L 403 403 200 200 403 200",
    "imports:crm": "L 403 403 200 200 403 200",
    "imports:upload": "L 403 403 R! R! 403 R!",
    "imports:batch": "L 403 403 200 200 403 200",
    "imports:sheet": "L 403 403 R! R! 403 R!",
    "imports:preview": "L 403 403 422 422 403 422",
    "imports:start": "L 403 403 R! R! 403 R!",
    "imports:progress": "L 403 403 200 200 403 200",
    "imports:cancel": "L 403 403 R! R! 403 R!",
    "imports:discard": "L 403 403 R! R! 403 R!",
    "imports:undo": "L 403 403 R R! 403 R!",
    "imports:rejected": "L 403 403 200 200 403 200",
    "admin:telephony_provideraccount_changelist": "L L L 200 403 L 200",
    "admin:telephony_provideraccount_add": "L L L 200 403 L 200",
    "admin:telephony_provideraccount_history": "L L L 200 403 L 200",
    "admin:telephony_provideraccount_delete": "L L L 200 403 L 200",
    "admin:telephony_provideraccount_change": "L L L 200 403 L 200",
    "admin:<admin/telephony/provideraccount/<path:object_id>/>": "L L L R R L R",
    "telephony:sms_compose": "L 403 403 422 403 403 422",
    "telephony:sms_measure": "L 403 403 200 403 403 200",
    "telephony:sms_send": "L 403 403 422 403 403 422",
    "telephony:sms_list": "L 422 422 422 422 422 422",
    "telephony:outbox": "L 403 403 200 200 403 200",
    "telephony:outbox_reply": "L 403 403 R! R! 403 R!",
    "telephony:hook": "403 403 403 403 403 403 403",
    "accounts:phone_set": "L R R R R R R",
    "telephony:call_start": "L 422 422 422 422 422 422",
    "telephony:call_panel": "L 200 200 200 200 200 200",
    "telephony:call_console": "L 422 422 422 422 422 422",
    "telephony:call_list": "L 422 422 422 422 422 422",
    "api:customer_marketing_consent": "405 405 405 405 405 405 405",
    "handling:customer_marketing_consent": "L R R R R! R! R",
    "telephony:calls_incoming": "L 200 200 200 403 200 200",
    "telephony:bulk_new": "L R! R! R! R! R! R!",
    "telephony:bulk_batch": "L 403 403 404 403 403 404",
    "telephony:bulk_stop": "L R! R! R! R! R! R!",
}
