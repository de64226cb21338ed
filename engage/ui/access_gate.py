"""The app's one gate, run by streamlit_app.py before any page: open mode or sign-in, the signed-in person's role
(engage/access.py), the pages that role may open, and the check every action makes on the server.

Without an [auth] section in .streamlit/secrets.toml the app is in open mode, for one person on their own machine:
every page says so, and that person may do everything. With one, a visitor who has not signed in gets only the
sign-in page, and someone signed in whom [access] in engage.toml does not list gets only a refusal page. The pages
a role may not open are left out of st.navigation, so the server never runs them whatever a browser asks; and each
action (promote, activate, delete or import a set, train) calls `require` where it acts, so a forged click on a
control that is disabled or not drawn is refused by the server too.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from engage import access
from engage.access import Action, Identity
from engage.errors import InputError
from engage.ui.errors import shown_errors
from engage.ui.text import plain

OPEN_MODE = ("Open mode: anyone who can reach this address can use it. To let in only your team, set up sign-in "
             "and roles (see the README, \"A team deployment\").")
# url path -> what opening the page is. Exhaustive: a page missing here is a LookupError when the app starts (never
# silently someone's page); tests/test_app_access.py checks every page of engage/ui/pages against it.
PAGE_ACTIONS = {"score": Action.SCORE, "evaluate": Action.EVALUATE, "models": Action.VIEW_MODELS,
                "label": Action.LABEL, "train": Action.TRAIN, "monitor": Action.MONITOR}


def auth_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section (Streamlit's own sign-in settings)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def _claims() -> dict | None:
    """The ID token's claims of this session's sign-in (from Streamlit's signed cookie), or None."""
    user = st.user
    if not user.get("is_logged_in"):
        return None
    return {k: v for k, v in user.to_dict().items() if k != "tokens"}


def _email(claims: dict) -> str:
    return str(claims.get("email") or "").strip().lower()


def identity() -> Identity | None:
    """Who is using this session: access.OPEN in open mode, the signed-in person (from Streamlit's signed cookie,
    read by the server) with their role, or None when sign-in is configured and nobody is signed in: no cookie, or
    its sign-in was ended by a sign-out (in any tab, or before the cookie was copied) or is older than [access]
    session_hours. Checked against the label database on every call, so on every run and action."""
    if not auth_configured():
        return access.OPEN
    claims = _claims()
    if claims is None:
        return None
    found = access.rules()
    from engage.ui import state  # the label database; state imports Streamlit pages' machinery, not this module

    if not state.label_store().sign_in_active(claims, _email(claims), timedelta(hours=found.session_hours)):
        return None
    return access.identify(claims.get("email"), claims.get("name"), email_verified=claims.get("email_verified"),
                           found=found)


def ended_sign_in() -> bool:
    """Whether this session carries a sign-in that is over (signed out elsewhere, or past its lifetime)."""
    return auth_configured() and _claims() is not None and identity() is None


def recheck() -> None:
    """For a fragment, whose reruns skip streamlit_app.py and so this gate: when this session's sign-in has ended
    (signed out in another tab, or past its lifetime), rerun the whole app, so that the gate shows the sign-in page."""
    if auth_configured() and _claims() is not None and identity() is None:
        st.rerun(scope="app")


def sign_out() -> None:
    """Ends this sign-in on the server (every tab, every copy of its cookie), then Streamlit's own sign-out."""
    claims = _claims()
    if claims is not None:
        from engage.ui import state

        state.label_store().end_sign_in(claims)
    st.logout()


def may(action: Action) -> bool:
    """For drawing: whether to show a control. Acting still goes through `require`."""
    try:
        who = identity()
    except InputError:
        return False
    return who is not None and who.may(action)


def require(action: Action) -> Identity:
    """The identity, if it may do `action`; else access.AccessDenied (shown as an error, nothing done)."""
    who = identity()
    if who is None:
        raise access.AccessDenied(f"sign in first to {action.value}")
    access.require(who, action)
    return who


def signed_in() -> Identity | None:
    """The signed-in identity (None in open mode or before sign-in)."""
    who = identity()
    return who if who is not None and who.signed_in else None


def page_action(page: StreamlitPage) -> Action:
    """What opening `page` is; a LookupError for a page PAGE_ACTIONS does not list."""
    try:
        return PAGE_ACTIONS[page.url_path]
    except KeyError:
        raise LookupError(f"the page {page.title!r} (url path {page.url_path!r}) has no entry in "
                          "engage.ui.access_gate.PAGE_ACTIONS: say which action opening it is") from None


def _with_home(pages: list[StreamlitPage]) -> list[StreamlitPage]:
    """`pages` behind a hidden default page that opens the first of them. Streamlit serves its default page at "/"
    only (its url path becomes ""), so without this the first page of a role (/score, or an annotator's /label)
    would answer its own address with "Page not found"."""
    first = pages[0]

    def home() -> None:
        st.switch_page(first, query_params=st.query_params.to_dict())

    return [st.Page(home, title=first.title, icon=first.icon, url_path="home", default=True,
                    visibility="hidden"), *pages]


def allowed_pages(pages: list[StreamlitPage]) -> list[StreamlitPage]:
    """The pages this session may open, with the open-mode notice or who is signed in above them, behind a hidden
    home page at "/" that opens the first of them. Before sign-in only the sign-in page, for someone without a role
    only the refusal page. Every page must be in PAGE_ACTIONS (else a LookupError: nobody's page by accident)."""
    actions = {page.url_path: page_action(page) for page in pages}
    if not auth_configured():
        st.caption(f":material/lock_open: {OPEN_MODE}")
        return _with_home(pages)
    try:
        who = identity()
    except InputError as exc:  # a bad [access] table: nobody gets in until it is fixed
        st.session_state["access_problem"] = str(exc)
        return [st.Page(_misconfigured, title="Sign-in", url_path="access", icon=":material/error:")]
    if who is None:
        return [st.Page(_sign_in, title="Sign in", url_path="sign-in", icon=":material/login:")]
    _signed_in_bar(who)
    if who.role is None:
        return [st.Page(_refused, title="Not allowed", url_path="not-allowed", icon=":material/block:")]
    return _with_home([p for p in pages if who.may(actions[p.url_path])])


def _signed_in_bar(who: Identity) -> None:
    with st.sidebar:
        role = who.role.title if who.role is not None else "no role"
        st.caption(f"Signed in as **{plain(who.email or '')}** · {role}")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            sign_out()


def _sign_in() -> None:
    st.header("Sign in")
    if ended_sign_in():
        st.info("Your sign-in has ended (signed out, or older than the team's session lifetime): sign in again.",
                icon=":material/logout:")
    st.write("This engage is for its team only: sign in with your work account.")
    with shown_errors():
        if st.button("Sign in", type="primary", key="auth_sign_in", icon=":material/login:"):
            st.login()


def _refused() -> None:
    who = signed_in()
    address = plain(who.email or "") if who else "someone"
    st.header("Not allowed")
    st.error(f"You are signed in as {address}, who has no role in this engage: an admin "
             "adds people under [access] in engage.toml (as an e-mail address or an @domain pattern). Sign out to "
             "use another account.", icon=":material/block:")


def _misconfigured() -> None:
    st.header("Sign-in is not set up correctly")
    st.error(f"{st.session_state.get('access_problem', 'the [access] table of engage.toml is not valid')}. "
             "Nobody is let in until an admin fixes it.", icon=":material/error:")
