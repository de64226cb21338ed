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

import re

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from engage import access
from engage.access import Action, Identity
from engage.errors import InputError
from engage.ui.errors import shown_errors

OPEN_MODE = ("Open mode: anyone who can reach this address can use it. To let in only your team, set up sign-in "
             "and roles (see the README, \"A team deployment\").")
# url path -> what opening the page is
PAGE_ACTIONS = {"score": Action.SCORE, "evaluate": Action.EVALUATE, "models": Action.VIEW_MODELS,
                "label": Action.LABEL, "train": Action.TRAIN, "monitor": Action.MONITOR}


_MARKDOWN = re.compile(r"([\\`*_\[\]<>~$|#!])")


def plain(text: str) -> str:
    """An address from the provider, safe inside Markdown (it is untrusted text)."""
    return _MARKDOWN.sub(r"\\\1", text)


def auth_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section (Streamlit's own sign-in settings)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def identity() -> Identity | None:
    """Who is using this session: access.OPEN in open mode, the signed-in person (from Streamlit's signed cookie,
    read by the server) with their role, or None when sign-in is configured and nobody has signed in."""
    if not auth_configured():
        return access.OPEN
    user = st.user
    if not user.get("is_logged_in"):
        return None
    return access.identify(user.get("email"), user.get("name"), email_verified=user.get("email_verified"))


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


def allowed_pages(pages: list[StreamlitPage]) -> list[StreamlitPage]:
    """The pages this session may open, with the open-mode notice or who is signed in above them. Before sign-in
    only the sign-in page, for someone without a role only the refusal page. A page unknown here is an admin's."""
    if not auth_configured():
        st.caption(f":material/lock_open: {OPEN_MODE}")
        return pages
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
    return [p for p in pages if who.may(PAGE_ACTIONS.get(p.url_path, Action.PROMOTE))]


def _signed_in_bar(who: Identity) -> None:
    with st.sidebar:
        role = who.role.title if who.role is not None else "no role"
        st.caption(f"Signed in as **{plain(who.email or '')}** · {role}")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            st.logout()


def _sign_in() -> None:
    st.header("Sign in")
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
