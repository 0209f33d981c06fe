"""Secrets kept out of everything artstore stores, logs or prints.

Three shapes of secret are recognised, by shape and by name, never by value:

- a password in a URL: ``scheme://user:PASSWORD@host/...`` anywhere in a text, and
  ``user:PASSWORD@host/...`` (no scheme) as a whole argument or option value;
- the value of an option whose name looks like a credential: ``--password X``,
  ``--api-key=X``, ``--aws-secret-access-key X``, ``-Dtoken=X``;
- the password glued to ``-p`` by MySQL's and MariaDB's clients: ``mysql -pX``;
- the password of a ``USER:PASSWORD`` pair given to ``-u``/``--user`` (curl, wget, httpie):
  ``curl -u me:X``, ``--user=me:X``;
- a ``NAME=VALUE`` whose name looks like a credential, as an argument (``token=X``,
  ``AWS_SECRET_ACCESS_KEY=X``), or an HTTP header of such a name as an argument
  (``curl -H "Authorization: Bearer X"``), or inside a text: a URL's query (``?password=X``), a
  connection string (``host=h password=X``), a shell line (``bash -c "TOKEN=X cmd"``).

A name looks like a credential when one of its words (split at ``_ - .`` and camelCase) is a
credential word (``password``, ``secret``, ``token``, ``auth``, ...), contains ``password``,
``passwd``, ``secret`` or ``credential``, or two neighbouring words make ``api key``,
``access key``, ``private key`` and the like. ``max_tokens`` and ``--tokenizer`` are not
credentials: their words are ``tokens`` and ``tokenizer``. Each secret becomes ``***``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

__all__ = [
    "REDACTED",
    "is_secret_name",
    "redact_argv",
    "redact_text",
    "redact_url",
    "url_password",
]

REDACTED = "***"

_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "pass",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "token",
    }
)
_INSIDE_WORDS = ("password", "passwd", "secret", "credential")
_WORD_ENDINGS = ("token", "apikey", "accesskey", "privatekey", "secretkey", "sessionkey")
_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("session", "key"),
        ("signing", "key"),
        ("account", "key"),
        ("master", "key"),
    }
)
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# scheme://user:PASSWORD@ anywhere; the password runs to the last '@' before a space, so a
# password holding '@', ':' or '/' is hidden whole.
_SCHEME_URL = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):(?P<pw>[^\s]*)@")
# user:PASSWORD@host... as a whole value (a catalog URL given without its scheme).
_BARE_URL = re.compile(r"(?P<head>^[^\s:/@]+):(?P<pw>[^\s]*)@(?=[^\s@]*$)")
# NAME=VALUE inside a text: a URL's query (?password=X), a libpq DSN, a shell line.
_EMBEDDED = re.compile(
    r"(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)="
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s&;'\"]+)"
)
_OPTION = re.compile(r"^--?(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)$")
_ASSIGN = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)
_HEADER = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_-]*):(?P<space>\s*)\S", re.DOTALL)
# The options that take USER:PASSWORD (curl, wget, httpie); a value without ':' is a user name.
_USER_OPTIONS = ("-u", "--user")


def is_secret_name(name: str) -> bool:
    """Whether an option, variable or key name looks like it holds a credential."""
    words = [w.lower() for w in _SPLIT.split(name) if w]
    for word in words:
        if word in _WORDS or word.endswith(_WORD_ENDINGS):
            return True
        if any(inside in word for inside in _INSIDE_WORDS):
            return True
    return any(pair in _PAIRS for pair in itertools.pairwise(words))


def redact_url(url: str) -> str:
    """``url`` without its password (``user:***@host``, with or without a scheme) and without
    the values of credential parameters (``?password=***``)."""
    if "://" not in url:
        url = _BARE_URL.sub(_hide_password, url)
    return redact_text(url)


def url_password(url: str) -> str | None:
    """The password :func:`redact_url` hides in ``url``; None when it has none."""
    match = (_SCHEME_URL if "://" in url else _BARE_URL).search(url)
    return match.group("pw") if match and match.group("pw") else None


def redact_text(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL in it hidden, and
    the value of every ``NAME=VALUE`` whose name looks like a credential."""
    return _EMBEDDED.sub(_hide_value, _SCHEME_URL.sub(_hide_password, text))


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line without secrets: see the module docstring for what is hidden."""
    result: list[str] = []
    hide_next = False
    glued_password = bool(argv) and _MYSQL_CLIENT.fullmatch(argv[0].rpartition("/")[2])
    for previous, arg in zip(["", *argv], argv, strict=False):
        if glued_password and arg.startswith("-p") and len(arg) > 2 and previous != "--":
            result.append(f"-p{REDACTED}")
            continue
        if hide_next and not arg.startswith("--"):
            result.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        if previous in _USER_OPTIONS and ":" in arg and "://" not in arg:
            result.append(f"{arg.partition(':')[0]}:{REDACTED}")
            continue
        name, sep, value = arg.partition("=")
        if sep and name == "--user" and ":" in value:
            result.append(f"--user={value.partition(':')[0]}:{REDACTED}")
            continue
        assign = _ASSIGN.match(arg)
        if assign is not None and _whole_value(assign.group("name"), assign.group("value")):
            result.append(f"{assign.group('name')}={REDACTED}")
            continue
        header = _HEADER.match(arg)
        if header is not None and is_secret_name(header.group("name")):
            result.append(f"{header.group('name')}:{header.group('space')}{REDACTED}")
            continue
        option = _OPTION.match(arg)
        if option is not None and _takes_secret(option.group("name")):
            hide_next = True
        result.append(redact_url(arg))
    return result


# MySQL's clients take the password glued to -p (`mysql -pSECRET`); elsewhere -p is a port or
# a path, so the rule holds only for these programs.
_MYSQL_CLIENT = re.compile(r"(mysql|mariadb)[a-z-]*")


def _whole_value(name: str, value: str) -> bool:
    # --password=X and token=X hide all of X; a shell line that starts with TOKEN=X (no
    # dashes, spaces in the rest) is left to the text rules, which hide X alone.
    secret = is_secret_name(name.lstrip("-"))
    return secret and (name.startswith("-") or not any(c.isspace() for c in value))


def _takes_secret(option: str) -> bool:
    # --no-auth and the like are switches: the next argument is not their value.
    return is_secret_name(option) and not option.lower().startswith(("no-", "no_"))


def _hide_password(match: re.Match[str]) -> str:
    return f"{match.group('head')}:{REDACTED}@"


def _hide_value(match: re.Match[str]) -> str:
    name = match.group("name")
    return f"{name}={REDACTED}" if is_secret_name(name) else match.group(0)
