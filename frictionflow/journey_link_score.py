"""The journeys a case follows up (fct_journeys.parent_journey_id) against the sandbox's ground truth.

The truth knows each case's journey and the journey that led to it (journeys.csv parent_journey_id): a
delivery check escalated to a case, a billing case after a failed checkout, an account case after a failed
password reset. Its journey ids are not the warehouse's, so a case is scored on the type of the journey it
follows: per type, recall is the share of the truth's cases following that type that the warehouse links to
a journey of that type, and precision the share of the warehouse's links to that type that the truth
agrees with. Only cases the warehouse holds are scored, and only those whose truth parent began after the
sandbox went live: a journey from before it is in no delivered data, so no rule can link to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg

LINKS_SQL = """
select cases.case_id, parents.journey_type as parent_type, cases.linked_by
from audit.fct_journeys as cases
left join audit.fct_journeys as parents on cases.parent_journey_id = parents.journey_id
where cases.journey_type = 'issue_resolution'
"""


@dataclass(frozen=True)
class LinkScore:
    parent_type: str
    truth: int  # cases the truth says follow a journey of this type
    linked: int  # cases the warehouse links to a journey of this type
    matched: int

    @property
    def recall(self) -> float | None:
        return self.matched / self.truth if self.truth else None

    @property
    def precision(self) -> float | None:
        return self.matched / self.linked if self.linked else None


def score(dsn: str, truth: Path) -> dict[str, LinkScore]:
    with psycopg.connect(dsn) as conn:
        found = pd.DataFrame(conn.execute(LINKS_SQL).fetchall(), columns=["case_id", "parent_type", "linked_by"])
    journeys = pd.read_csv(truth / "journeys.csv", dtype=str, keep_default_na=False)
    cases = pd.read_csv(truth / "cases.csv", dtype=str, keep_default_na=False)
    types = journeys.set_index("journey_id")["journey_type"]
    parents = journeys.set_index("journey_id")["parent_journey_id"]
    starts = pd.to_datetime(journeys.set_index("journey_id")["start_at"], utc=True, format="ISO8601")
    go_live = pd.Timestamp(json.loads((truth / "manifest.json").read_text())["go_live"])
    cases["truth_parent_type"] = cases["journey_id"].map(parents).map(types)
    visible = ~(cases["journey_id"].map(parents).map(starts) < go_live)  # no parent counts as visible
    scored = found.merge(cases.loc[visible, ["case_id", "truth_parent_type"]], on="case_id", how="inner")
    report = {}
    for parent_type in sorted(set(scored["truth_parent_type"].dropna()) | set(scored["parent_type"].dropna())):
        truth_side = scored["truth_parent_type"] == parent_type
        linked_side = scored["parent_type"] == parent_type
        report[parent_type] = LinkScore(
            parent_type, int(truth_side.sum()), int(linked_side.sum()), int((truth_side & linked_side).sum())
        )
    return report


def format_report(report: dict[str, LinkScore]) -> str:
    def figure(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [
        "| a case follows | truth | linked | matched | recall | precision |",
        "|---|---|---|---|---|---|",
    ]
    for s in report.values():
        lines.append(
            f"| {s.parent_type} | {s.truth:,} | {s.linked:,} | {s.matched:,} | {figure(s.recall)} "
            f"| {figure(s.precision)} |"
        )
    return "\n".join(lines)
