"""Timesheets (CSV: date, employee, team, activity, hours; any order and case) to monthly `HOUR` drivers.

One transaction per month and team account, dated the month's last day, with a
posting per activity (`<team account>:<activity component>`) and the total on
the offset account, as the books' hand-written timesheet entries are:

    2026-11-30 * "Timesheets" "DatacenterOps hours by activity, November 2026 (3 staff)"
      import-id: "timesheets/2026-11/Equity:Stats:Hours:DatacenterOps"
      Equity:Stats:Hours:DatacenterOps:Serving     41.5 HOUR
      Equity:Stats:Hours:DatacenterOps:Offset ...

Configuration (`[timesheets]`): `teams` maps each team name of the file to its
driver account, `activities` each activity name to the account component
under it; `offset` (default `Equity:Stats:Offset`) and `date-format` (default
ISO, `%Y-%m-%d`). A name in the file that the tables do not list is an error at
its row: a new team or activity is a decision, not something to guess.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from beancount.core import account, data

from .base import FeedImporter, driver_postings, entry_meta, last_day
from .config import ImportConfig, Table
from .errors import FeedProblem, FeedRejected
from .keys import import_id
from .rows import Row, iter_rows, read_header

COLUMNS = ("date", "employee", "team", "activity", "hours")
UNIT = "HOUR"
HOURS_IN_A_DAY = Decimal(24)
# Rows of one person's day named in the over-24-hours message.
SHOWN_ROWS = 10


@dataclass(frozen=True)
class TimesheetSettings:
    teams: Mapping[str, str]
    activities: Mapping[str, str]
    offset: str
    date_format: str


def timesheets_settings(config: ImportConfig) -> TimesheetSettings:
    """The `[timesheets]` table, checked (ConfigError)."""
    table = Table.of(config, "timesheets", ("teams", "activities", "offset", "date-format"))
    teams = table.string_map("teams")
    activities = table.string_map("activities")
    for name, team_account in teams.items():
        if not account.is_valid(team_account):
            raise table.error(f"teams.{name}", f"{team_account!r} is not an account name")
    for name, component in activities.items():
        if ":" in component or not component[:1].isupper():
            raise table.error(
                f"activities.{name}",
                f"{component!r} must be one capitalised account component (e.g. Serving)",
            )
    return TimesheetSettings(
        teams=teams,
        activities=activities,
        offset=table.string("offset", "Equity:Stats:Offset"),
        date_format=table.string("date-format", "%Y-%m-%d"),
    )


@dataclass(frozen=True)
class Booking:
    """One usable row: who worked how long on what, and where it posts."""

    line: int
    day: datetime.date
    employee: str
    team_account: str
    account: str
    hours: Decimal


class TimesheetImporter(FeedImporter):
    """Staff timesheets to `HOUR` drivers per team and activity."""

    feed = "timesheets"

    def __init__(self, config: ImportConfig) -> None:
        super().__init__(config)
        self.settings = timesheets_settings(config)

    def identify(self, filepath: str) -> bool:
        # Three of the five columns make it a timesheet; a missing one is then an error at line 1
        # (identifying only perfect files would skip a damaged timesheet without a word).
        header = read_header(filepath, fold_case=True)
        return header is not None and len(set(header) & set(COLUMNS)) >= 3 and "employee" in header

    def account(self, filepath: str) -> data.Account:
        return "Equity:Stats:Hours"

    def exclusive_accounts(self, entry: data.Transaction) -> set[str]:
        return {posting.account for posting in entry.postings if posting.account != self.settings.offset}

    def extract_entries(self, filepath: str) -> list[data.Directive]:
        problems: list[FeedProblem] = []
        bookings: list[Booking] = []
        for row in iter_rows(filepath, COLUMNS, problems, fold_case=True):
            booking = self.booking(filepath, row, problems)
            if booking is not None:
                bookings.append(booking)
        problems.extend(over_a_day(filepath, bookings))
        if problems:
            raise FeedRejected(sorted(problems, key=lambda p: (p.row or 0, p.message)))
        return self.entries(filepath, bookings)

    def booking(self, filepath: str, row: Row, problems: list[FeedProblem]) -> Booking | None:
        """The row as a Booking, or None with a problem per thing wrong in it."""
        fields = row.fields
        found: list[str] = []
        try:
            day = datetime.datetime.strptime(fields["date"], self.settings.date_format).date()
        except ValueError:
            found.append(f"date {fields['date']!r} does not parse as {self.settings.date_format}")
            day = None
        employee = fields["employee"]
        if not employee:
            found.append("no employee")
        team_account = self.settings.teams.get(fields["team"])
        if team_account is None:
            known = ", ".join(sorted(self.settings.teams))
            found.append(f"unknown team {fields['team']!r} (the [timesheets] teams table knows: {known})")
        component = self.settings.activities.get(fields["activity"])
        if component is None:
            known = ", ".join(sorted(self.settings.activities))
            found.append(
                f"unknown activity {fields['activity']!r} (the [timesheets] activities table knows: {known})"
            )
        hours = parse_hours(fields["hours"], found)
        problems.extend(FeedProblem(filepath, row.line, message) for message in found)
        if found or day is None or team_account is None or component is None or hours is None:
            return None
        return Booking(row.line, day, employee, team_account, f"{team_account}:{component}", hours)

    def entries(self, filepath: str, bookings: list[Booking]) -> list[data.Directive]:
        """One transaction per month and team account, in month then account order."""
        groups: dict[tuple[str, str], list[Booking]] = defaultdict(list)
        for booking in bookings:
            groups[(booking.day.strftime("%Y-%m"), booking.team_account)].append(booking)
        entries: list[data.Directive] = []
        for (period, team_account), members in sorted(groups.items()):
            day = last_day(period)
            postings = driver_postings(
                filepath, ((b.account, b.hours, b.line) for b in members), UNIT, self.settings.offset
            )
            staff = len({booking.employee.casefold() for booking in members})
            team = team_account.rsplit(":", 1)[-1]
            month_name = day.strftime("%B %Y")
            meta = entry_meta(
                filepath,
                min(booking.line for booking in members),
                import_id(self.feed, period, team_account),
                rows=Decimal(len(members)),
            )
            narration = f"{team} hours by activity, {month_name} ({staff} staff)"
            entries.append(
                data.Transaction(meta, day, "*", "Timesheets", narration, frozenset(), frozenset(), postings)
            )
        return entries


def parse_hours(text: str, found: list[str]) -> Decimal | None:
    """The hours of a row as a Decimal; a problem for anything but a finite number >= 0."""
    try:
        if "_" in text:  # Python's Decimal reads `1_0` as 10: a digit separator, not hours
            raise InvalidOperation
        hours = Decimal(text)
    except InvalidOperation:
        found.append(f"hours {text!r} is not a number")
        return None
    if not hours.is_finite():
        found.append(f"hours {text!r} is not a number")
        return None
    if hours < 0:
        found.append(f"negative hours {text}")
        return None
    return hours


def over_a_day(filepath: str, bookings: list[Booking]) -> list[FeedProblem]:
    """A problem at each row of a person's day that adds up to more than 24 hours."""
    days: dict[tuple[str, datetime.date], list[Booking]] = defaultdict(list)
    for booking in bookings:
        # `A.Okafor` and `a.okafor` are one person: two spellings must not split a day in two.
        days[(booking.employee.casefold(), booking.day)].append(booking)
    problems: list[FeedProblem] = []
    for (_, day), members in days.items():
        employee = members[0].employee
        total = sum((booking.hours for booking in members), Decimal(0))
        if total > HOURS_IN_A_DAY:
            lines = ", ".join(str(booking.line) for booking in members[:SHOWN_ROWS])
            if len(members) > SHOWN_ROWS:
                lines += f" and {len(members) - SHOWN_ROWS} more"
            problems.extend(
                FeedProblem(
                    filepath,
                    booking.line,
                    f"{employee} is booked {total} hours on {day.isoformat()} (over 24; rows {lines})",
                )
                for booking in members
            )
    return problems
