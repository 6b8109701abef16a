"""The headline as HTML from the server, shown before the page's script has run.

The page's script draws its headline once Fava's own script has started, the
page's modules are in and the figures have arrived (about 0.3 to 0.5 s). The
page's template puts this rendering of the same answer (``v2_unit_economics``,
from :mod:`.figures`) where the script will draw, so the headline is readable
with the HTML; the script shows it in the headline's panel until it draws its own.
Only an answer already computed (by an earlier view of the same filters, on the
same load) is rendered: the HTML never waits for a first computation.
The figures and words are the page's (``headlineHtml`` in static/unit-economics.js):
money per million tokens (in the books' operating currency), the sign as a minus or plus and as "a loss" or "a
profit", not colour alone.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

JSON = dict[str, Any]
MINUS = "\N{MINUS SIGN}"
FIGURES = (
    ("price", "Price"),
    ("cost_of_serving", "Cost of serving (COGS)"),
    ("gross_margin", "Gross margin (accountant's view)"),
    ("full_cost", "Full cost (every cost of the firm)"),
    ("net_margin", "Net margin (skeptic's view)"),
)


#: The sign written before an amount of the books' operating currency (the page's MONEY_SIGNS);
#: another currency is written by its code.
MONEY_SIGNS = {"USD": "$", "EUR": "\N{EURO SIGN}", "GBP": "\N{POUND SIGN}", "JPY": "\N{YEN SIGN}"}


def money_sign(currency: str) -> str:
    """``$`` for USD, ``€`` for EUR, ``CHF `` for a currency without a sign here."""
    return MONEY_SIGNS.get(currency, f"{currency} ")


def per_mtok(value: Decimal, *, signed: bool = False, currency: str = "USD") -> str:
    """An amount of ``currency`` per million tokens with enough decimals that small figures
    are not $0.00 (the page's ``perMtok``).

    >>> per_mtok(Decimal("-1.003462")) == MINUS + "$1.00", per_mtok(Decimal("0.928325"), signed=True)
    (True, '+$0.928')
    >>> per_mtok(Decimal("2.5"), currency="EUR"), per_mtok(Decimal("2.5"), currency="CHF")
    ('€2.50', 'CHF 2.50')
    """
    sign = money_sign(currency)
    size = abs(value)
    if size == 0:
        return f"{sign}0"
    digits = 2 if size >= 1 else 3 if size >= Decimal("0.1") else 4 if size >= Decimal("0.001") else 6
    text = f"{sign}{size:,.{digits}f}"
    if value < 0:
        return MINUS + text
    return f"+{text}" if signed else text


#: The words a number of tokens is written in, from the largest, with its size in million tokens.
TOKEN_SCALES = ((Decimal(1_000_000), "trillion"), (Decimal(1_000), "billion"), (Decimal(1), "million"))


def tokens_text(million_tokens: Decimal) -> str:
    """Million tokens (the books' ``MTOK``) in words, in the scale of their own size (the page's
    ``fmtTokens``): neither 90 Mtok as "0.00 trillion" nor 35,740,800 Mtok as "36M".

    >>> tokens_text(Decimal("35740800")), tokens_text(Decimal("90.48")), tokens_text(Decimal("4500"))
    ('35.7 trillion tokens', '90.5 million tokens', '4.5 billion tokens')
    """
    size, word = next(
        ((size, word) for size, word in TOKEN_SCALES if abs(million_tokens) >= size), TOKEN_SCALES[-1]
    )
    scaled = million_tokens / size
    digits = 1 if abs(scaled) >= 10 else 2
    # As the page's toLocaleString(maximumFractionDigits): no trailing zeros.
    text = f"{scaled:,.{digits}f}".rstrip("0").rstrip(".")
    return f"{text} {word} tokens"


def _figure(name: str, label: str, value: str | None, currency: str) -> str:
    if value is None:
        return f'<div class="ue-fig"><div class="ue-l">{label}</div><div class="ue-v">—</div></div>'
    number = Decimal(value)
    word = ""
    style = ""
    if name.endswith("margin"):
        word = " a loss" if number < 0 else " a profit" if number > 0 else " break-even"
        style = ' style="color:#b3261e"' if number < 0 else ' style="color:#1b7a2e"'
    shown = per_mtok(number, signed=name.endswith("margin"), currency=currency)
    return (
        f'<div class="ue-fig" data-server-figure="{name}" data-value="{escape(value)}">'
        f'<div class="ue-l">{escape(label)}</div><div class="ue-v"{style}>{shown}'
        f'<span class="ue-u"> per million tokens</span><b>{word}</b></div></div>'
    )


def _row(title: str, figures: JSON | None, currency: str) -> str:
    if figures is None:
        return ""
    cells = "".join(_figure(name, label, figures.get(name), currency) for name, label in FIGURES)
    tokens = tokens_text(Decimal(figures["million_tokens"]))
    return (
        f'<div class="ue-row"><div class="ue-h">{escape(title)} <b>{escape(figures["label"])}</b> '
        f"({tokens})</div>{cells}</div>"
    )


STYLE = """<style>
.ue-row{display:flex;flex-wrap:wrap;gap:0.4em 1.2em;margin:0.2em 0 0.6em}
.ue-h{flex:0 0 100%}.ue-fig{min-width:12em}.ue-l{font-size:0.85em;color:#444}
.ue-v{font-size:1.45em;font-weight:600}.ue-v b{font-size:0.6em;margin-left:0.3em}
.ue-u{font-size:0.5em;font-weight:400;color:#444}
.ue-note{background:#fff6d6;border:1px solid #e0c060;padding:0.4em 0.8em;margin:0.3em 0}
</style>"""


def headline_html(answer: JSON) -> str:
    """The headline of a ``v2_unit_economics`` answer, as HTML."""
    notes = "".join(f'<div class="ue-note">{escape(note)}</div>' for note in answer.get("notices", []))
    if answer.get("status") != "ok" or not answer.get("data"):
        message = escape(str(answer.get("message") or "no data for this filter"))
        body = f'<div class="ue-note"><b>{message}</b></div>{notes}'
    else:
        headline = answer["data"]["headline"]
        currency = str(answer.get("currency") or "USD")
        body = (
            notes
            + _row("Latest month with tokens served:", headline.get("month"), currency)
            + _row("Whole period:", headline.get("period"), currency)
        )
    return (
        f'<div data-server-headline="1" style="padding:0.5em 1em">{STYLE}'
        "<h3>Are we selling tokens at a loss? (per million tokens, in the books' currency)</h3>"
        f'{body}<p class="ue-l">Loading the charts…</p></div>'
    )
