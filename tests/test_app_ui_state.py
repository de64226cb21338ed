"""The UI's session state through Streamlit's AppTest, on the Label page (no model needed): each component owns
its session keys and keeps frozen dataclasses in them (issue 20 item 3); a reconnected tab gets its own claim back
and says an answer was not saved (issue 26 item 7); a database outage keeps the card and retries on the next action
(item 8); user-supplied names are shown as text, never Markdown (item 9)."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from pathlib import Path

import psycopg
import pytest
import sqlalchemy.exc
from markdown_it import MarkdownIt
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from streamlit.testing.v1 import AppTest

import engage.ui
import engage.ui.pages
from engage.labels import LabelStore
from engage.ui import errors, label_card, state
from tests.apptests import APP
from tests.fixtures.labels_db import postgres_schema_url
from tests.fixtures.tcp_cut import tcp_cut

LABEL = "engage/ui/pages/label.py"
TIMEOUT = 60
IMAGE_NAME = "![x](http://host.invalid/img.png)"


def _owners() -> dict[str, str]:
    """KEY_PREFIX -> module, for every UI module that keeps session keys (pages are read, not imported: importing
    a page runs it)."""
    found = {}
    for package in (engage.ui, engage.ui.pages):
        for info in pkgutil.iter_modules(package.__path__):
            name = f"{package.__name__}.{info.name}"
            if package is engage.ui:
                prefix = getattr(importlib.import_module(name), "KEY_PREFIX", None)
            else:
                source = (Path(package.__path__[0]) / f"{info.name}.py").read_text()
                prefix = next((line.split('"')[1] for line in source.splitlines()
                               if line.startswith("KEY_PREFIX = ")), None)
            if prefix is not None:
                found[prefix] = name
    return found


def _label_page(url: str, monkeypatch, annotator: str | None = "ana", query: dict | None = None) -> AppTest:
    monkeypatch.setenv("ENGAGE_DATABASE_URL", url)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    if annotator is not None:
        at.query_params["annotator"] = annotator
    at.run()
    return at.switch_page(LABEL).run()


def _card(at: AppTest) -> str | None:
    texts = [t.value for t in at.text]
    return texts[0] if texts else None


def _said(at: AppTest) -> str:
    return " | ".join(e.value for kind in ("error", "warning", "info", "success", "caption")
                      for e in at.get(kind))


@pytest.fixture(autouse=True)
def _fresh_stores():
    yield
    state._label_store.clear()  # the cached store of each URL: disposed with its connections


# ---------------------------------------------------------------- issue 20 item 3

def test_every_session_key_has_one_owner_and_holds_no_tuple(tmp_path, monkeypatch):
    owners = _owners()
    prefixes = sorted(owners)
    assert len(prefixes) >= 8, owners
    for a in prefixes:  # no prefix is the start of another: a key has one owner
        assert not [b for b in prefixes if b != a and b.startswith(a)], (a, owners)
    for prefix, name in owners.items():  # each module's named keys are its own
        if name.startswith("engage.ui.pages"):
            continue
        module = importlib.import_module(name)
        for attr in dir(module):
            if attr.startswith("KEY_") and attr != "KEY_PREFIX":
                assert getattr(module, attr).startswith(prefix), (name, attr)

    url = f"sqlite:///{tmp_path / 'labels.sqlite'}"
    with LabelStore(url) as store:
        store.import_messages("first.csv", ["alpha one", "beta two", "gamma three"])
    at = _label_page(url, monkeypatch)
    at.file_uploader(key="label_file").upload("again.csv", b"text\nalpha one\nbeta two\ngamma three\n")
    at.run()
    next(b for b in at.button if b.key == "label_import").click()
    at.run()  # the same messages as set #1: a choice is waiting (a Twin)
    next(b for b in at.button if b.key == "label_yes").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    held = {key: at.session_state[key] for key in at.session_state}
    multiselects = {widget.key for widget in [*at.multiselect, *at.slider] if widget.key}  # range values
    assert label_card.KEY_TWIN in held and label_card.KEY_SHOWN in held
    for key, value in held.items():
        # Streamlit names a form's submit button "FormSubmitter:<form key>-<label>": the form key is the owner's.
        owned = key.removeprefix("FormSubmitter:")
        mine = [p for p in prefixes if owned.startswith(p)]
        assert len(mine) == 1, f"session key {key!r} has owners {mine}"
        if key in multiselects:  # a widget's own (range) value is Streamlit's; what we store is never one
            continue
        assert not isinstance(value, (tuple, list, dict)), f"{key!r} holds a {type(value).__name__}"
        if dataclasses.is_dataclass(value):
            assert value.__dataclass_params__.frozen, key


# ---------------------------------------------------------------- issue 26 item 7

def test_a_reconnected_tab_gets_its_own_message_back_and_says_the_answer_was_not_saved(db_url, monkeypatch):
    with LabelStore(db_url) as store:
        set_id = store.import_messages("s.csv", ["first message", "second message", "third message"])
    first = _label_page(db_url, monkeypatch)
    shown = _card(first)
    assert shown == "first message"
    # The server dies with the message on ana's card; the key she presses then reaches no server. Meanwhile bob
    # labels. The browser reconnects to a new server session with the URL it had.
    bob = _label_page(db_url, monkeypatch, annotator="bob")
    assert _card(bob) != shown
    again = _label_page(db_url, monkeypatch, annotator=None, query=dict(first.query_params))
    assert not again.exception, [e.value for e in again.exception]
    assert _card(again) == shown  # hers again: not another message behind the dead session's claim
    assert any("was not saved" in w.value for w in again.warning), _said(again)
    next(b for b in again.button if b.key == "label_yes").click()
    again.run()
    assert _card(again) not in (shown, None)
    assert not any("was not saved" in w.value for w in again.warning)  # said once, not after every answer
    with LabelStore(db_url) as store:
        labels = store.labeled_messages(set_id)
    assert labels.texts == [shown] and labels.labels.tolist() == [1]


# ---------------------------------------------------------------- issue 26 item 8

@pytest.fixture
def cut_pg_url():
    """A fresh PostgreSQL schema reached through a forwarder the test can cut: (URL through it, direct URL, it)."""
    with postgres_schema_url() as direct:
        parsed = make_url(direct)
        with tcp_cut(parsed.host, parsed.port) as proxy:
            yield parsed.set(port=proxy.port).render_as_string(hide_password=False), direct, proxy


def test_a_database_outage_keeps_the_card_says_so_and_retries_on_the_next_action(cut_pg_url, monkeypatch):
    through, direct, proxy = cut_pg_url
    with LabelStore(direct) as store:
        set_id = store.import_messages("s.csv", ["first message", "second message"])
    at = _label_page(through, monkeypatch)
    assert _card(at) == "first message"

    proxy.cut()
    next(b for b in at.button if b.key == "label_yes").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = _said(at)
    assert "cannot be reached" in said and "bug" not in said, said
    assert "not saved" in said
    assert _card(at) == "first message"  # the card stays
    at.run()  # any rerun while down (a full page run too) keeps it
    assert _card(at) == "first message" and "bug" not in _said(at)

    proxy.restore()
    next(b for b in at.button if b.key == "label_yes").click()  # the next action: the answer is sent again
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert _card(at) == "second message"
    with LabelStore(direct) as store:
        labels = store.labeled_messages(set_id)
    assert labels.texts == ["first message"] and labels.labels.tolist() == [1]


# ---------------------------------------------------------------- issue 26 item 9

def _rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def test_markdown_in_annotator_file_and_set_names_is_shown_as_text(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'labels.sqlite'}"
    with LabelStore(url) as store:
        set_id = store.import_messages("s.csv", ["one message", "another message"])
        store.label(store.messages(set_id)["message_id"][0], IMAGE_NAME, 1, set_id=set_id)
    at = _label_page(url, monkeypatch, annotator=IMAGE_NAME)
    assert not at.exception, [e.value for e in at.exception]
    shown = [c.value for c in at.caption if "invalid" in c.value]
    assert len(shown) == 2, shown  # "Labeling as ...", and the name in the per-annotator progress
    at.file_uploader(key="label_file").upload(f"{IMAGE_NAME}.csv", b"text\nfresh one\nfresh two\n")
    at.run()
    next(b for b in at.button if b.key == "label_import").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    imported = [e.value for e in at.success if "invalid" in e.value]
    assert len(imported) == 1, _said(at)  # the file and the set it became, in the success message
    shown += imported
    for markdown in shown:
        html = _rendered(markdown)
        assert "<img" not in html and "<a " not in html, markdown
        assert "http\\:" in markdown, markdown  # no autolink either
        assert "![x](http://host.invalid/img.png)" in html, html  # the name, as the text it is


def _wrapped(error: Exception, during: Exception | None = None) -> DBAPIError:
    """`error` as SQLAlchemy hands it on; raised while handling `during` when given, as psycopg does."""
    try:
        if during is None:
            raise error
        try:
            raise during
        except type(during):
            raise error  # noqa: B904 (the driver's own chaining is what is under test)
    except psycopg.Error as orig:
        return DBAPIError.instance(None, None, orig, psycopg.Error)


def test_a_pre_ping_on_a_socket_that_just_closed_says_unreachable_not_bug():
    # Seen in CI: the pool's ping met a closed socket (OperationalError), then psycopg refused to reset autocommit on
    # the dead connection, so SQLAlchemy raised a ProgrammingError whose context is the real cause.
    ping = _wrapped(psycopg.ProgrammingError("can't change 'autocommit' now: connection in transaction status ACTIVE"),
                    during=psycopg.OperationalError("connection socket closed"))
    assert isinstance(ping, sqlalchemy.exc.ProgrammingError) and not ping.connection_invalidated
    assert errors.database_unreachable(ping)
    # A ProgrammingError of its own (a mistake in SQL) is still a bug.
    assert not errors.database_unreachable(_wrapped(psycopg.ProgrammingError('syntax error at or near "SELEC"')))
    assert errors.database_unreachable(_wrapped(psycopg.OperationalError("connection refused")))
