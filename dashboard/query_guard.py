"""Which query strings Fava's query shell may run for a request.

Fava hands the ``query_string`` of ``/api/query`` and of ``/download-query/`` to
beanquery's interactive shell, where more than queries run: ``.output FILE``
opens FILE for writing (a GET request truncates any file the user can write,
``--read-only`` or not, and breaks the shell for every later request),
``CREATE TABLE ... USING 'csv:///path'`` opens any file, and ``.set``/``.format``
change the shell every request shares. Only statements that read the entries and
the shell's read-only commands pass; everything else is refused with a reason.
"""

from __future__ import annotations

import functools
import string

from beanquery import parser

#: Statements that only read the entries.
READING_STATEMENTS = frozenset({"Select", "Balances", "Journal", "Print"})

#: Shell commands that only print about the entries or the saved queries
#: (``run NAME`` runs a saved ``query`` directive of the books, itself checked).
READING_COMMANDS = frozenset({"run", "explain", "describe", "tables", "help", "errors"})

#: Commands beanquery's shell accepts without the leading dot (beanquery.shell.onecmd).
UNDOTTED_COMMANDS = frozenset({"clear", "errors", "exit", "help", "history", "parse", "quit", "run", "set"})

#: The characters of a command name, as the shell reads it (cmd.Cmd.identchars plus the dot).
COMMAND_CHARS = frozenset(string.ascii_letters + string.digits + "_.")


def refusal(query_string: str) -> str | None:
    """Why ``query_string`` may not run for a request, or None when it only reads.

    Mirrors how beanquery's shell dispatches a line (``BQLShell.onecmd``): a line
    that starts with a dot, or with one of the undotted command names, is a shell
    command; any other line is a statement for the parser.
    """
    line = query_string.strip()
    end = 0
    while end < len(line) and line[end] in COMMAND_CHARS:
        end += 1
    word, rest = line[:end], line[end:].strip()
    if word.startswith("."):
        command = word[1:]
    elif word.lower() in UNDOTTED_COMMANDS:
        command = word.lower()
    else:
        return _statement_refusal(line)
    if command not in READING_COMMANDS:
        return f'the shell command ".{command}" is not allowed through Fava (only queries run from a request)'
    if command == "explain":
        return _statement_refusal(rest)
    return None


@functools.lru_cache(maxsize=256)
def statement_kind(text: str) -> str | None:
    """The kind of statement ``text`` parses to (``Select``, ...), or None if it
    does not parse.

    Once per text and process: beanquery's TatSu parser takes 0.3 to 3 s for a
    saved query's text, whatever the ledger, and Fava then parses the same text
    again (it caches nothing), so a query re-run from Fava's query page would pay
    for the guard's parse every time.
    """
    try:
        return type(parser.parse(text)).__name__
    except parser.ParseError:  # Fava parses the same text and shows the error
        return None


def _statement_refusal(text: str) -> str | None:
    if not text:
        return None
    kind = statement_kind(text)
    if kind is None or kind in READING_STATEMENTS:
        return None
    return f"a {kind} statement is not allowed through Fava (only SELECT, BALANCES, JOURNAL and PRINT)"
