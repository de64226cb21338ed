"""Roles from [access] in engage.toml: addresses and @domain patterns, the highest role wins, what each may do,
unverified addresses, and every bad entry named with the file."""

from __future__ import annotations

import pytest

from engage import access
from engage.access import Action, Role
from engage.errors import InputError

TOML = """
elmo_handle = "/opt/elmo"
[access]
admins = ["Boss@Acme.example"]
analysts = ["carl@acme.example", "@insights.acme.example"]
annotators = ["@acme.example"]
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "engage.toml"
    monkeypatch.setenv("ENGAGE_CONFIG", str(path))
    return path


def test_roles_by_address_and_domain_highest_wins(config):
    config.write_text(TOML)
    rules = access.rules()
    assert rules.role_of("boss@acme.example") is Role.ADMIN  # listed as admin and matched by @acme.example
    assert rules.role_of("  CARL@acme.EXAMPLE ") is Role.ANALYST
    assert rules.role_of("dana@insights.acme.example") is Role.ANALYST
    assert rules.role_of("ana@acme.example") is Role.ANNOTATOR
    # a domain pattern is that domain exactly
    for outsider in ("eve@evil-acme.example", "eve@acme.example.evil", "eve@sub.acme.example", "acme.example",
                     "@acme.example", ""):
        assert rules.role_of(outsider) is None, outsider


def test_what_each_role_may_do():
    assert access.allowed(None) == []
    assert access.allowed(Role.ANNOTATOR) == [Action.LABEL]
    analyst = set(access.allowed(Role.ANALYST))
    assert analyst == {Action.LABEL, Action.BULK_LABEL, Action.SCORE, Action.EVALUATE, Action.VIEW_MODELS,
                       Action.IMPORT, Action.TRAIN, Action.EXPORT, Action.MONITOR, Action.REVIEW}
    assert set(access.allowed(Role.ADMIN)) == set(Action)
    assert access.OPEN.may(Action.PROMOTE) and access.OPEN.actor == "open mode"


def test_identify_and_require(config):
    config.write_text(TOML)
    ana = access.identify("Ana@acme.example", "Ana", email_verified=True)
    assert (ana.email, ana.role, ana.actor) == ("ana@acme.example", Role.ANNOTATOR, "ana@acme.example")
    access.require(ana, Action.LABEL)
    with pytest.raises(access.AccessDenied, match="ana@acme.example is an annotator: only an admin or above may "
                                                  "promote or activate a model version"):
        access.require(ana, Action.PROMOTE)
    carl = access.identify("carl@acme.example", None, email_verified=True)
    access.require(carl, Action.TRAIN)
    with pytest.raises(access.AccessDenied, match="only an admin"):
        access.require(carl, Action.DELETE_SET)
    stranger = access.identify("mallory@elsewhere.example", "M", email_verified=True)
    assert stranger.role is None and stranger.signed_in
    with pytest.raises(access.AccessDenied, match="has no role here.*\\[access\\] in engage.toml"):
        access.require(stranger, Action.LABEL)


def test_an_unverified_address_gets_no_role(config):
    config.write_text(TOML)
    for flag in (False, "false", None, "", 0, "yes"):  # None: the claim is absent from the ID token
        assert access.identify("boss@acme.example", "B", email_verified=flag).role is None, flag
        assert access.identify("ana@acme.example", "A", email_verified=flag).role is None, flag  # via @acme.example
    for flag in (True, "true", "True"):
        assert access.identify("ana@acme.example", "A", email_verified=flag).role is Role.ANNOTATOR, flag


def test_a_provider_configured_as_verifying_admits_tokens_without_the_claim(config):
    config.write_text(TOML + "provider_verifies_email = true\nsession_hours = 8\n")
    rules = access.rules()
    assert rules.provider_verifies_email and rules.session_hours == 8.0
    assert access.identify("ana@acme.example", "A", email_verified=None).role is Role.ANNOTATOR
    assert access.identify("ana@acme.example", "A", email_verified=False).role is None  # said unverified: still no
    config.write_text(TOML)
    assert not access.rules().provider_verifies_email and access.rules().session_hours == access.SESSION_HOURS


def test_no_access_table_lists_nobody(config):
    config.write_text('elmo_handle = "/opt/elmo"\n')
    assert access.rules().empty
    assert access.identify("boss@acme.example", None).role is None


@pytest.mark.parametrize(("body", "message"), [
    ('[access]\nadmin = ["a@b.example"]\n', "unknown \\[access\\] keys admin; known: admins, analysts, annotators"),
    ('[access]\nadmins = "a@b.example"\n', "admins must be a list"),
    ('[access]\nadmins = ["a@b.example", 3]\n', "admins must be a list"),
    ('[access]\nanalysts = ["not an address"]\n', "analysts: 'not an address' is neither an e-mail address"),
    ('[access]\nannotators = ["@nodot"]\n', "annotators: '@nodot' is neither"),
    ('access = ["a@b.example"]\n', "access must be a table"),
    ('[access]\nprovider_verifies_email = "yes"\n', "provider_verifies_email must be true or false"),
    ('[access]\nsession_hours = 0\n', "session_hours must be a number of hours above 0 and at most 720"),
    ('[access]\nsession_hours = 1000\n', "session_hours must be a number"),
])
def test_bad_access_tables_are_named(config, body, message):
    config.write_text(body)
    with pytest.raises(InputError, match=message) as caught:
        access.rules()
    assert str(config) in str(caught.value)


def test_the_other_settings_still_refuse_unknown_keys(config):
    from engage import config as settings

    config.write_text(TOML + '\n[other]\nx = 1\n')
    with pytest.raises(InputError, match="unknown settings other"):
        settings.default_encoder_handle()


def test_local_actor_names_the_os_user():
    assert access.local_actor().startswith("cli:") and len(access.local_actor()) > 4
