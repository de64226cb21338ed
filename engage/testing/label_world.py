"""Labeling in a real browser, shared by the browser tests and bench/label_latency.py: a labeling set in a SQLite
file scored by the world's active model, the Label page opened under a name, and key presses that wait for the
next message.

Each page records, in the browser, when each message appeared and when a key answered it (Date.now(), one clock for
every tab on the machine), so tests can check that two tabs never showed the same message at the same moment.
"""

from __future__ import annotations

from pathlib import Path

from engage.label_loop import score_set
from engage.labels import LabelStore
from engage.scoring import load_classifier
from engage.testing.app_world import ACTIVE_VERSION, AppWorld, labeled_frame

CARD_TEXT = '.st-key-label_card [data-testid="stText"]'
KEYS = {1: "e", 0: "n", None: "s"}

_WATCH = """() => {
  window.__shown = [];
  const read = () => { const el = document.querySelector('CARD'); return el ? el.innerText : null; };
  let current = null;
  const tick = () => {
    const text = read();
    if (text === current) return;
    current = text;
    if (text !== null) window.__shown.push({text, start: Date.now(), answered: null, key: null});
  };
  document.addEventListener('keydown', (event) => {
    const last = window.__shown[window.__shown.length - 1];
    if (last && last.answered === null && last.text === read()) { last.answered = Date.now(); last.key = event.key; }
  }, true);
  new MutationObserver(tick).observe(document.body, {subtree: true, childList: true, characterData: true});
  tick();
}""".replace("CARD", CARD_TEXT)


def make_set(world: AppWorld, db_url: str, name: str, rows: int = 120, seed: int = 0) -> tuple[int, list[str]]:
    """A labeling set of `rows` fresh messages (tagged with the set name, so no annotator has answered them in
    another set), scored by the world's active model. Returns (set id, texts)."""
    texts = [f"{text} [{name}]" for text in labeled_frame(rows, seed)["text"] if text]
    with LabelStore(db_url) as store:
        set_id = store.import_messages(name, texts)
        score_set(store, set_id, load_classifier(ACTIVE_VERSION, root=world.models, cache=None, use_cache=False))
    return set_id, texts


def open_label_page(page, url: str, annotator: str) -> None:
    """The Label page under a name, the newest set on the card, and the in-browser display log started."""
    page.goto(f"{url}/label")
    page.get_by_label("Your name").fill(annotator)
    page.get_by_role("button", name="Start labeling").click()
    page.locator(CARD_TEXT).wait_for()
    page.get_by_text("Agreement", exact=True).wait_for()  # the last element: the page's run has finished
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # keys go to the page
    # A key pressed within a few tens of ms of the page's first run ending can reach the document yet send nothing
    # (Streamlit's frontend is still binding shortcuts); nothing is recorded then, so wait as a person would.
    page.wait_for_timeout(500)
    # The answer guard (engage/ui/label_card.py) is installed by the page's first run; on a loaded machine it can
    # come after the card, and a double answer sent before it would not be the guard's to stop.
    page.wait_for_function("() => window.__engageAnswerGuard === true")
    page.evaluate(_WATCH)


def shown(page) -> str | None:
    found = page.locator(CARD_TEXT)
    return found.inner_text() if found.count() else None


def press(page, value: int | None) -> str:
    """Answer the message on the card with its key; returns that message's text (the wait is separate)."""
    text = shown(page)
    page.bring_to_front()  # with several tabs, only the focused one receives keys, as for a person
    page.keyboard.press(KEYS[value])
    return text


def wait_next(page, previous: str, timeout_ms: float = 30_000) -> None:
    """Until the card shows another message than `previous` (or nothing is left)."""
    page.bring_to_front()  # a tab in the background may not draw until it is looked at
    page.wait_for_function(
        "prev => { const el = document.querySelector('CARD'); return !el || el.innerText !== prev; }"
        .replace("CARD", CARD_TEXT),
        arg=previous, timeout=timeout_ms, polling=5)  # not "raf": a tab in the background gets no frames


def display_log(page) -> list[dict]:
    return page.evaluate("() => window.__shown")


def db_path(tmp: Path) -> tuple[Path, str]:
    path = tmp / "labels.sqlite"
    return path, f"sqlite:///{path}"
