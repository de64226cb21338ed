"""The access gate through Streamlit's AppTest: open mode says so on every page; with [auth] in the secrets, the
sign-in page before anything, a refusal page for someone [access] does not list, each role's pages, labels under
the signed-in address, and forged actions (a click on a disabled or undrawn control, a direct call) refused by the
server, while an admin's promotion and set deletion are audited under their address.

The browser tests (tests/e2e/test_auth_browser.py) do the same against a real OpenID Connect provider."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engage import registry
from engage.labels import LabelStore
from engage.testing.app_world import ACTIVE_VERSION, OTHER_VERSION, AppWorld
from engage.ui.text import plain
from tests.apptests import APP, SIGN_IN, ok, opened, signed_in

PAGES = {"score": "engage/ui/pages/score.py", "evaluate": "engage/ui/pages/evaluate.py",
         "models": "engage/ui/pages/models.py", "label": "engage/ui/pages/label.py",
         "train": "engage/ui/pages/train.py", "monitor": "engage/ui/pages/monitor.py"}
TIMEOUT = 120
ACCESS = """[access]
admins = ["boss@acme.example"]
analysts = ["carl@acme.example"]
annotators = ["@acme.example"]
"""
# What Streamlit itself needs to turn sign-in on; AppTest never contacts the provider.
ADMIN, ANALYST, ANNOTATOR, STRANGER = ("boss@acme.example", "carl@acme.example", "ana@acme.example",
                                       "mallory@elsewhere.example")


@pytest.fixture
def env(env, tmp_path, monkeypatch) -> tuple[AppWorld, str, Path]:
    """The app tests' env (tests/conftest.py: the world's models copied, a fresh label database), and an
    engage.toml with roles."""
    (tmp_path / "engage.toml").write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
    return env


def _app(email: str | None, page: str | None = None, *, verified: bool = True) -> AppTest:
    """The app with sign-in configured, as `email` (None: nobody signed in), on `page`."""
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), email, verified=verified)
    return opened(at, None if page is None else PAGES[page])


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at.switch_page(PAGES[page]).run()


def _header(at: AppTest) -> str:
    return at.header[0].value


def _keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button}


def test_open_mode_says_so_on_every_page(env):
    for page in PAGES:
        at = _open(page)
        assert not at.exception
        assert any(c.value.endswith("Open mode: anyone who can reach this address can use it. To let in only your "
                                    "team, set up sign-in and roles (see the README, \"A team deployment\").")
                   for c in at.caption), page
        assert "auth_sign_out" not in _keys(at)
    assert _header(_open("models")) == "Models"
    at = _open("label")
    assert at.text_input(key="label_name_input") is not None  # open mode: the typed name, as before


def test_signed_in_pages_carry_no_open_mode_notice(env):
    at = _app(ADMIN, "score")
    ok(at)
    assert not any("Open mode" in c.value for c in at.caption)
    assert f"Signed in as **{plain(ADMIN)}** · admin" in [c.value for c in at.sidebar.caption]


def _unreachable(email: str | None, page: str, known: str) -> None:
    """The page is not registered for this session: AppTest cannot even switch to it (the browser test asks the
    real server for it)."""
    at = _app(email)
    with pytest.raises(ValueError, match=f"Known pages: \\[{known}\\]"):
        at.switch_page(PAGES[page])


def test_nobody_signed_in_gets_only_the_sign_in_page(env):
    at = _app(None)
    ok(at)
    assert _header(at) == "Sign in"
    assert _keys(at) == {"auth_sign_in"}
    for page in ("models", "label"):
        _unreachable(None, page, "'Sign in'")


@pytest.mark.parametrize("verified", [True, False])
def test_someone_without_a_role_is_refused(env, verified):
    email = STRANGER if verified else ADMIN  # an admin's address the provider has not verified is no one's
    for page in (None,):
        at = _app(email, page, verified=verified)
        assert not at.exception
        assert _header(at) == "Not allowed"
        assert [e.value for e in at.error] == [
            f"You are signed in as {plain(email)}, who has no role in this engage: an admin adds people under [access] "
            "in engage.toml (as an e-mail address or an @domain pattern). Sign out to use another account."]
        assert _keys(at) == {"auth_sign_out"}


def test_a_bad_access_table_lets_nobody_in(env, tmp_path):
    (tmp_path / "engage.toml").write_text('[access]\nadmins = ["boss"]\n', encoding="utf-8")
    at = _app(ADMIN)
    assert not at.exception
    assert _header(at) == "Sign-in is not set up correctly"
    assert "'boss' is neither an e-mail address" in at.error[0].value


def test_an_annotator_labels_under_their_address_and_sees_nothing_else(env):
    world, url, models = env
    with LabelStore(url) as store:
        set_id = store.import_messages("inbox", ["first message", "second message"], actor=ADMIN)
    at = _app(ANNOTATOR)
    ok(at)
    assert _header(at) == "Label messages"  # their only page, so the default one
    assert f"Labeling as **{plain(ANNOTATOR)}**" in [c.value for c in at.caption]
    assert "label_name_input" not in {t.key for t in at.text_input}  # no typed name when signed in
    assert not at.get("file_uploader") and not at.get("expander")  # neither import nor delete
    next(b for b in at.button if b.key == "label_yes").click()
    at.run()
    ok(at)
    with LabelStore(url) as store:
        assert store.progress(set_id).by_annotator.keys() == {ANNOTATOR}
    for page in ("models", "score", "train", "evaluate"):  # not in the navigation: the server never runs them
        _unreachable(ANNOTATOR, page, "'Label', '[^']*engage/ui/pages/label.py'")  # after the hidden home page


def test_an_analyst_sees_the_models_but_a_forged_activation_is_refused(env):
    world, url, models = env
    at = _app(ANALYST, "models")
    ok(at)
    assert _header(at) == "Models"
    at.selectbox(key="models_pick").select(OTHER_VERSION).run()
    button = at.button(key="models_activate")
    assert button.disabled and button.help == "only an admin activates a version"
    # A forged browser message sets the trigger of the disabled button anyway (AppTest's click() refuses to, as
    # the browser's own page does): the server discards it (Streamlit enforces `disabled`), and were it to reach
    # the action, controls.promote refuses (test_the_promotion_action_itself_refuses_anyone_but_an_admin).
    button._value = True
    at.run()
    assert not at.exception and not at.success
    assert registry.active_name(models) == ACTIVE_VERSION
    with LabelStore(url) as store:
        assert store.audit().empty


def _promote_directly() -> None:
    """A page that calls the promotion action itself, as a forged request that reached it would."""
    import streamlit as st

    from engage.ui import controls
    from engage.ui.errors import run_page

    run_page(lambda: st.success(controls.promote("fixture-b")))


@pytest.mark.parametrize("email", [ANNOTATOR, ANALYST, STRANGER, None])
def test_the_promotion_action_itself_refuses_anyone_but_an_admin(env, email):
    world, url, models = env
    at = AppTest.from_function(_promote_directly, default_timeout=TIMEOUT)
    at.secrets["auth"] = SIGN_IN
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    at.run()
    assert not at.exception and not at.success
    said = at.error[0].value
    assert ("sign in first" in said) if email is None else said.startswith(f"{email} ")
    assert registry.active_name(models) == ACTIVE_VERSION


def test_an_admin_activates_and_the_audit_names_them(env):
    world, url, models = env
    with LabelStore(url) as store:
        store.import_messages("inbox", ["first message", "second message"], actor=ANALYST)
    at = _app(ADMIN, "models")
    ok(at)
    at.selectbox(key="models_pick").select(OTHER_VERSION).run()
    at.button(key="models_activate").click().run()
    ok(at)
    assert registry.active_name(models) == OTHER_VERSION
    with LabelStore(url) as store:
        row = store.audit().iloc[0]
    assert (row.action, row.actor, row.from_version, row.to_version) == ("activate", ADMIN, ACTIVE_VERSION,
                                                                         OTHER_VERSION)
    shown = next(d.value for d in at.dataframe if "actor" in d.value.columns)
    assert shown["actor"].tolist() == [ADMIN, ANALYST]
    assert shown["action"].tolist() == ["activate", "import"]


def test_only_an_admin_deletes_a_labeling_set_and_it_is_audited(env):
    world, url, models = env
    with LabelStore(url) as store:
        keep = store.import_messages("keep", ["a message"], actor=ANALYST)
        doomed = store.import_messages("doomed", ["another message"], actor=ANALYST)
    at = _app(ANALYST, "label")
    ok(at)
    assert at.file_uploader(key="label_file") is not None  # an analyst imports
    assert "label_delete" not in _keys(at)
    at = _app(ADMIN, "label")
    ok(at)
    assert at.selectbox(key="label_set_pick").value == doomed
    assert at.button(key="label_delete").disabled  # until the checkbox says yes
    at.checkbox(key="label_delete_sure").check().run()
    at.button(key="label_delete").click().run()
    ok(at)
    assert "Deleted labeling set 'doomed'" in at.success[0].value
    with LabelStore(url) as store:
        assert [s.id for s in store.sets()] == [keep]
        row = store.audit().iloc[0]
    assert (row.action, row.actor, row.subject, row.set_id) == ("delete_set", ADMIN, "doomed", doomed)


def test_an_analyst_trains_but_may_not_promote_what_they_trained(env):
    world, url, models = env
    at = _app(ANALYST, "train")
    assert not at.exception
    assert _header(at) == "Train a new model version"
    assert "train_export_audit" in {b.key for b in at.get("download_button")}


# ---------------------------------------- every role against every page (issue 26, item 1)

HEADERS = {"score": "Score messages", "evaluate": "Evaluate", "models": "Models", "label": "Label messages",
           "train": "Train a new model version", "monitor": "Monitor"}
# Written out, not derived from access_gate.PAGE_ACTIONS: this is what each role must be able to open.
OPENS = {ADMIN: set(PAGES), ANALYST: set(PAGES), ANNOTATOR: {"label"}, STRANGER: set(), None: set()}
FIRST = {ADMIN: "Score messages", ANALYST: "Score messages", ANNOTATOR: "Label messages", STRANGER: "Not allowed",
         None: "Sign in"}


def test_every_page_file_has_an_action_and_a_page_without_one_fails_loudly():
    from engage.ui import access_gate

    pages = Path(__file__).resolve().parents[1] / "engage" / "ui" / "pages"
    assert set(access_gate.PAGE_ACTIONS) == {p.stem for p in pages.glob("*.py") if p.stem != "__init__"} == \
        set(PAGES) == set(HEADERS)

    def stray() -> None:
        import streamlit as st

        from engage.ui import access_gate

        try:
            access_gate.allowed_pages([st.Page(lambda: None, title="Stray", url_path="stray")])
        except LookupError as exc:
            st.error(str(exc))

    at = AppTest.from_function(stray, default_timeout=TIMEOUT)
    at.run()
    assert [e.value for e in at.error] == ["the page 'Stray' (url path 'stray') has no entry in "
                                           "engage.ui.access_gate.PAGE_ACTIONS: say which action opening it is"]


@pytest.mark.parametrize("email", [ADMIN, ANALYST, ANNOTATOR, STRANGER, None])
def test_every_role_against_every_page(env, email):
    at = _app(email)
    assert not at.exception
    assert _header(at) == FIRST[email]  # what "/" opens: the role's first page
    for page, header in HEADERS.items():
        if page in OPENS[email]:
            at.switch_page(PAGES[page]).run()
            assert not at.exception, (email, page, [e.value for e in at.exception])
            assert _header(at) == header, (email, page)
        else:  # not registered for this session: the server never runs it
            with pytest.raises(ValueError, match="Known pages"):
                at.switch_page(PAGES[page])


# ---------------------------------------- sign-ins ended on the server (issue 26, item 11)

def _tab(claims: dict) -> AppTest:
    """A browser tab carrying Streamlit's identity cookie with these ID-token claims."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = SIGN_IN
    at.user = {"is_logged_in": True, **claims}
    return at.run()


def _sign_in_claims(email: str, nonce: str, issued: float | None = None) -> dict:
    return {"email": email, "email_verified": True, "name": email.split("@")[0], "iss": "http://127.0.0.1:9",
            "sub": f"sub-{email}", "iat": int(issued or time.time()), "nonce": nonce}


def test_sign_out_ends_the_sign_in_in_every_tab_and_for_every_copy_of_its_cookie(env):
    world, url, models = env
    with LabelStore(url) as store:
        set_id = store.import_messages("inbox", ["first message", "second message"], actor=ADMIN)
    claims = _sign_in_claims(ANNOTATOR, "nonce-1")
    tab_a, tab_b = _tab(claims), _tab(claims)
    assert _header(tab_a) == _header(tab_b) == "Label messages"
    tab_a.button(key="auth_sign_out").click().run()
    assert not tab_a.exception

    tab_b.button(key="label_yes").click().run()  # the other tab, still open on the card, answers
    assert not tab_b.exception
    assert _header(tab_b) == "Sign in"
    with LabelStore(url) as store:
        assert store.progress(set_id).labeled == 0  # nothing saved under the signed-out address

    copied = _tab(claims)  # the same signed cookie, replayed after sign-out
    assert _header(copied) == "Sign in"
    assert "Your sign-in has ended" in copied.info[0].value
    assert _keys(copied) == {"auth_sign_in"}

    again = _tab(_sign_in_claims(ANNOTATOR, "nonce-2"))  # a new sign-in with the provider works
    ok(again)
    assert _header(again) == "Label messages"


def test_a_sign_in_older_than_the_session_lifetime_acts_no_more(env, tmp_path):
    (tmp_path / "engage.toml").write_text(ACCESS + "session_hours = 1\n", encoding="utf-8")
    assert _header(_tab(_sign_in_claims(ADMIN, "old", time.time() - 2 * 3600))) == "Sign in"
    assert _header(_tab(_sign_in_claims(ADMIN, "recent", time.time() - 1800))) == "Score messages"


@pytest.mark.parametrize("verified", [None, "false"])
def test_a_token_that_does_not_say_the_address_is_verified_gets_no_role(env, tmp_path, verified):
    claims = {k: v for k, v in _sign_in_claims(ANNOTATOR, "n").items() if k != "email_verified"}
    if verified is not None:
        claims["email_verified"] = verified
    at = _tab(claims)  # ANNOTATOR is let in only by the @acme.example rule
    assert _header(at) == "Not allowed"
    (tmp_path / "engage.toml").write_text(ACCESS + "provider_verifies_email = true\n", encoding="utf-8")
    at = _tab(claims)
    assert _header(at) == ("Label messages" if verified is None else "Not allowed")
