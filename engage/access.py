"""Who may do what in the app: the roles of `[access]` in engage.toml, matched against a signed-in e-mail address.

    [access]
    admins = ["lead@brand.example"]
    analysts = ["@insights.brand.example"]
    annotators = ["@brand.example", "temp.helper@agency.example"]

An entry is an e-mail address or an "@domain" pattern (exactly that domain: subdomains are other domains, so that
"@brand.example" never lets in "x@evil-brand.example" nor "x@brand.example.evil"). Someone matched under several
roles has the highest of them. Annotators label (searching a set and seeing similar messages included); analysts
also bulk-label, score, evaluate, import labeling sets, train and export labels; admins also promote or activate a
version and delete labeling sets. Anyone signed in whom no entry matches has no role and is refused. Without
sign-in (open mode, one person on their own machine) that person may do everything. The command line is local and
never asks.
"""

from __future__ import annotations

import enum
import getpass
import re
from dataclasses import dataclass

from engage.config import config_file, file_settings
from engage.errors import InputError

ROLE_KEYS = {"admins": "ADMIN", "analysts": "ANALYST", "annotators": "ANNOTATOR"}
OPTION_KEYS = ("provider_verifies_email", "session_hours")
SESSION_HOURS = 12.0  # a working day: sign in again each morning; sign-out ends a sign-in at once
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")


class Role(enum.IntEnum):
    """Ordered: each role may do what the roles below it may."""
    ANNOTATOR = 1
    ANALYST = 2
    ADMIN = 3

    @property
    def title(self) -> str:
        return self.name.lower()


class Action(enum.Enum):
    LABEL = "label messages"
    BULK_LABEL = "label many messages at once"
    SCORE = "score files"
    EVALUATE = "evaluate a model"
    VIEW_MODELS = "see the model versions"
    IMPORT = "import a labeling set"
    TRAIN = "train a model version"
    EXPORT = "export labels"
    PROMOTE = "promote or activate a model version"
    DELETE_SET = "delete a labeling set"
    MONITOR = "see the monitor"
    REVIEW = "decide labels in review (disagreements, suspected errors, anyone's older labels)"


LEAST_ROLE: dict[Action, Role] = {
    Action.LABEL: Role.ANNOTATOR,
    # Searching and "more like this" only read the set an annotator labels, so they go with LABEL; one bulk label
    # speaks for hundreds of messages (and weighs that much in agreement and training): analysts and admins.
    Action.BULK_LABEL: Role.ANALYST,
    Action.SCORE: Role.ANALYST, Action.EVALUATE: Role.ANALYST, Action.VIEW_MODELS: Role.ANALYST,
    Action.IMPORT: Role.ANALYST, Action.TRAIN: Role.ANALYST, Action.EXPORT: Role.ANALYST,
    Action.PROMOTE: Role.ADMIN, Action.DELETE_SET: Role.ADMIN, Action.MONITOR: Role.ANALYST,
    Action.REVIEW: Role.ANALYST,  # annotators correct only their own answers (README, "Reviewing labels")
}


class AccessDenied(InputError):
    """The signed-in person's role does not allow the action (shown as it is, like any InputError)."""


@dataclass(frozen=True)
class Rules:
    """The [access] table: per role, the addresses and @domain patterns it lists (lower case)."""
    admins: tuple[str, ...] = ()
    analysts: tuple[str, ...] = ()
    annotators: tuple[str, ...] = ()
    # The provider puts only addresses it has verified in its ID tokens, even without an email_verified claim.
    provider_verifies_email: bool = False
    session_hours: float = SESSION_HOURS  # how long a sign-in acts before signing in again

    @property
    def empty(self) -> bool:
        return not (self.admins or self.analysts or self.annotators)

    def role_of(self, email: str) -> Role | None:
        """The highest role whose entries match `email` (case-insensitive), or None."""
        address = email.strip().lower()
        if not _EMAIL.match(address):
            return None
        domain = "@" + address.rsplit("@", 1)[1]
        for key in ("admins", "analysts", "annotators"):
            entries = getattr(self, key)
            if address in entries or domain in entries:
                return Role[ROLE_KEYS[key]]
        return None


def _entries(key: str, value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"[access] {key} must be a list of e-mail addresses or \"@domain\" patterns",
                         file=where)
    found = tuple(v.strip().lower() for v in value)
    bad = [v for v in found if not (_EMAIL.match(v) or _DOMAIN.match(v))]
    if bad:
        raise InputError(f"[access] {key}: {bad[0]!r} is neither an e-mail address (name@domain.example) nor an "
                         "@domain pattern (@domain.example)", file=where)
    return found


def read_rules(table: object) -> Rules:
    """Rules from the [access] table as read from TOML; a wrong key or entry is an InputError naming it."""
    where = str(config_file())
    if table is None:
        return Rules()
    if not isinstance(table, dict):
        raise InputError("access must be a table ([access] with admins, analysts, annotators)", file=where)
    unknown = set(table) - set(ROLE_KEYS) - set(OPTION_KEYS)
    if unknown:
        raise InputError(f"unknown [access] keys {', '.join(sorted(unknown))}; known: "
                         f"{', '.join([*ROLE_KEYS, *OPTION_KEYS])}", file=where)
    options: dict[str, object] = {}
    if "provider_verifies_email" in table:
        if not isinstance(table["provider_verifies_email"], bool):
            raise InputError("[access] provider_verifies_email must be true or false", file=where)
        options["provider_verifies_email"] = table["provider_verifies_email"]
    if "session_hours" in table:
        hours = table["session_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 30:
            raise InputError("[access] session_hours must be a number of hours above 0 and at most 720 (30 days, "
                             "the life of Streamlit's sign-in cookie)", file=where)
        options["session_hours"] = float(hours)
    return Rules(**{key: _entries(key, table[key], where) for key in ROLE_KEYS if key in table}, **options)


def rules() -> Rules:
    """The rules of the config file now (read on every call, so an edited engage.toml applies at once)."""
    return read_rules(file_settings().get("access"))


@dataclass(frozen=True)
class Identity:
    """Who is using the app: a signed-in person (e-mail from the provider) or the one local user of open mode."""
    email: str | None
    name: str | None
    role: Role | None
    signed_in: bool

    @property
    def actor(self) -> str:
        """The name audit rows and labels carry."""
        return self.email if self.email else "open mode"

    def may(self, action: Action) -> bool:
        return self.role is not None and self.role >= LEAST_ROLE[action]


OPEN = Identity(email=None, name=None, role=Role.ADMIN, signed_in=False)


def identify(email: str | None, name: str | None, *, email_verified: object = None,
             found: Rules | None = None) -> Identity:
    """The identity of a signed-in person. An address the provider does not say is verified gives no role: an
    unverified address is only what someone typed, and an @domain pattern would let them in. A token without
    email_verified counts as unverified, unless [access] says provider_verifies_email = true."""
    address = (email or "").strip().lower() or None
    found = found or rules()
    if email_verified is None:
        verified = found.provider_verifies_email
    else:
        verified = email_verified is True or str(email_verified).strip().lower() == "true"
    role = found.role_of(address) if address and verified else None
    return Identity(email=address, name=name, role=role, signed_in=True)


def require(identity: Identity, action: Action) -> None:
    """Raises AccessDenied unless `identity` may do `action`."""
    if identity.may(action):
        return
    least = LEAST_ROLE[action].title
    if identity.role is None:
        raise AccessDenied(f"{identity.actor} has no role here, so may not {action.value}: an admin lists people "
                           "under [access] in engage.toml")
    raise AccessDenied(f"{identity.actor} is an {identity.role.title}: only an {least} or above may "
                       f"{action.value}")


def local_actor() -> str:
    """Who did it, for what the command line (or other local code) changes: there is no sign-in there."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return f"cli:{user}"


def allowed(role: Role | None) -> list[Action]:
    """What `role` may do, in Action order."""
    return [a for a in Action if role is not None and role >= LEAST_ROLE[a]]
