"""Accuracy of identity resolution against the sandbox's ground truth: pairwise precision and recall of
"same customer", for the resolution and for the MDM-only baseline (the golden id as the customer).

The items scored are the identifiers the warehouse holds (`intermediate.int_identity__identifiers`) that
the ground truth's identities.csv also lists, keyed by (identifier_type, normalised value): an identifier
the warehouse never received cannot be resolved by any method and is counted in `coverage` instead. An
identifier the truth gives to several persons is ambiguous and left out (counted too). An identifier a
method leaves unresolved (a shared identifier, or no golden record for the baseline) is a customer of its
own. A pair is a pair of distinct identifiers; precision = pairs put together that belong together / pairs
put together, recall = pairs put together that belong together / pairs that belong together.

The goal (precision >= 0.995, recall >= 0.97) is scored on the linkable identifiers: a web device that never
logged in carries no evidence of whose it is (no login, no order, nothing shared with another system), so
no method can link it; the scores over every identifier held, those devices included, are reported beside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg

IDENTIFIER_TYPES = ("crm_contact_id", "erp_customer_no", "golden_id", "email", "phone", "anonymous_id")

RESOLVED_SQL = """
select identifier_type, identifier_value, customer_key
from intermediate.int_identity__customer_map
"""

# Every identifier the warehouse holds; a web device that never logged in (no user_id on any of its events)
# carries no identity evidence at all, so no method can link it: it is scored apart (is_linkable false).
OBSERVED_SQL = """
select
    identifiers.identifier_type,
    identifiers.identifier_value,
    bool_or(identifiers.identifier_type <> 'anonymous_id' or logins.record_id is not null) as is_linkable
from intermediate.int_identity__identifiers as identifiers
left join (
    select distinct record_id from intermediate.int_identity__identifiers
    where source_system = 'web_analytics' and identifier_type = 'crm_contact_id'
) as logins on identifiers.record_id = logins.record_id
group by identifiers.identifier_type, identifiers.identifier_value
"""

# MDM as the customer master: a CRM contact or ERP customer belongs to the golden record listing it in the
# latest snapshot (a retired record's survivor for the merged), any other identifier to the golden record of
# a CRM contact or ERP customer on the same source record (the smallest golden_id when several).
MDM_BASELINE_SQL = """
with survivors as (
    select golden_id, coalesce(merged_into, golden_id) as customer from staging.stg_mdm__golden_customers
),
key_golden as (
    select distinct on (source_system, source_key)
        case source_system when 'crm' then 'crm_contact_id' else 'erp_customer_no' end as identifier_type,
        source_key as identifier_value,
        coalesce(survivors.customer, keys.golden_id) as customer
    from staging.stg_mdm__golden_customer_source_keys as keys
    left join survivors using (golden_id)
    where keys.is_latest_snapshot
    order by source_system, source_key, keys.golden_id
),
goldens as (
    select distinct 'golden_id' as identifier_type, i.identifier_value,
        coalesce(survivors.customer, i.identifier_value) as customer
    from intermediate.int_identity__identifiers as i
    left join survivors on survivors.golden_id = i.identifier_value
    where i.identifier_type = 'golden_id'
),
record_golden as (
    select i.record_id, min(k.customer) as customer
    from intermediate.int_identity__identifiers as i
    inner join key_golden as k on k.identifier_type = i.identifier_type and k.identifier_value = i.identifier_value
    group by i.record_id
),
others as (
    select i.identifier_type, i.identifier_value, min(r.customer) as customer
    from intermediate.int_identity__identifiers as i
    inner join record_golden as r on r.record_id = i.record_id
    where i.identifier_type in ('email', 'phone', 'anonymous_id')
    group by i.identifier_type, i.identifier_value
)
select identifier_type, identifier_value, customer from key_golden
union all select identifier_type, identifier_value, customer from goldens
union all select identifier_type, identifier_value, customer from others
"""


@dataclass(frozen=True)
class PairwiseScore:
    method: str
    identifiers: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def line(self) -> str:
        return (
            f"{self.method:<12} precision {self.precision:.4f}  recall {self.recall:.4f}  "
            f"({self.correct_pairs:,} of {self.predicted_pairs:,} predicted pairs right, "
            f"{self.true_pairs:,} true pairs, {self.identifiers:,} identifiers)"
        )


@dataclass(frozen=True)
class IdentityReport:
    """Scores over the linkable identifiers (the goal) and over every identifier held (devices that never
    logged in included)."""

    resolved: PairwiseScore
    mdm_only: PairwiseScore
    resolved_all: PairwiseScore
    mdm_only_all: PairwiseScore
    truth_identifiers: int
    observed_identifiers: int
    linkable_identifiers: int
    ambiguous_identifiers: int

    @property
    def coverage(self) -> float:
        return self.observed_identifiers / self.truth_identifiers if self.truth_identifiers else 1.0

    def summary(self) -> str:
        return "\n".join(
            [
                "linkable identifiers (devices that never logged in left out):",
                "  " + self.resolved.line(),
                "  " + self.mdm_only.line(),
                "every identifier held:",
                "  " + self.resolved_all.line(),
                "  " + self.mdm_only_all.line(),
                f"truth identifiers {self.truth_identifiers:,}, held by the warehouse {self.observed_identifiers:,} "
                f"({self.coverage:.1%}), linkable {self.linkable_identifiers:,}, "
                f"ambiguous in the truth {self.ambiguous_identifiers:,}",
            ]
        )


def _pairs(sizes: pd.Series) -> int:
    sizes = sizes.astype("int64")
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise(items: pd.DataFrame, method: str) -> PairwiseScore:
    """items: one row per identifier with `person_id` (truth) and `cluster` (prediction)."""
    return PairwiseScore(
        method=method,
        identifiers=len(items),
        true_pairs=_pairs(items.groupby("person_id").size()),
        predicted_pairs=_pairs(items.groupby("cluster").size()),
        correct_pairs=_pairs(items.groupby(["person_id", "cluster"]).size()),
    )


def truth_identifiers(ground_truth_dir: Path) -> tuple[pd.DataFrame, int]:
    """(identifier_type, identifier_value, person_id) of every unambiguous identifier of the truth, and how
    many were ambiguous (listed for several persons)."""
    frame = pd.read_csv(
        ground_truth_dir / "identities.csv",
        usecols=["person_id", "identifier_type", "normalised_value"],
        dtype=str,
        keep_default_na=False,
    )
    frame = frame[frame["identifier_type"].isin(IDENTIFIER_TYPES) & (frame["normalised_value"] != "")]
    frame = frame.rename(columns={"normalised_value": "identifier_value"})
    frame = frame.drop_duplicates(["identifier_type", "identifier_value", "person_id"])
    owners = frame.groupby(["identifier_type", "identifier_value"])["person_id"].transform("size")
    ambiguous = int(frame[owners > 1][["identifier_type", "identifier_value"]].drop_duplicates().shape[0])
    return frame[owners == 1].reset_index(drop=True), ambiguous


def _query(dsn: str, sql: str, columns: list[str]) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn:
        return pd.DataFrame(conn.execute(sql).fetchall(), columns=columns)


def _clusters(items: pd.DataFrame, mapping: pd.DataFrame, column: str) -> pd.Series:
    merged = items.merge(mapping, on=["identifier_type", "identifier_value"], how="left")
    alone = "alone:" + merged["identifier_type"] + ":" + merged["identifier_value"]
    return merged[column].fillna(alone)


def score(warehouse_dsn: str, ground_truth_dir: Path) -> IdentityReport:
    """Score tonight's identity map and the MDM-only baseline in the warehouse against the ground truth."""
    truth, ambiguous = truth_identifiers(ground_truth_dir)
    observed = _query(warehouse_dsn, OBSERVED_SQL, ["identifier_type", "identifier_value", "is_linkable"])
    items = truth.merge(observed, on=["identifier_type", "identifier_value"], how="inner")
    resolved = _query(warehouse_dsn, RESOLVED_SQL, ["identifier_type", "identifier_value", "customer_key"])
    baseline = _query(warehouse_dsn, MDM_BASELINE_SQL, ["identifier_type", "identifier_value", "customer"])
    baseline = baseline.drop_duplicates(["identifier_type", "identifier_value"])
    ours = items.assign(cluster=_clusters(items, resolved, "customer_key").to_numpy())
    mdm = items.assign(cluster=_clusters(items, baseline, "customer").to_numpy())
    linkable = items["is_linkable"].to_numpy(bool)
    return IdentityReport(
        resolved=pairwise(ours[linkable], "resolved"),
        mdm_only=pairwise(mdm[linkable], "mdm_only"),
        resolved_all=pairwise(ours, "resolved"),
        mdm_only_all=pairwise(mdm, "mdm_only"),
        truth_identifiers=len(truth) + ambiguous,
        observed_identifiers=len(items),
        linkable_identifiers=int(linkable.sum()),
        ambiguous_identifiers=ambiguous,
    )


def missed_pairs(warehouse_dsn: str, ground_truth_dir: Path) -> pd.DataFrame:
    """True pairs the resolution did not put together, counted by the two identifier types: where recall goes."""
    truth, _ = truth_identifiers(ground_truth_dir)
    observed = _query(warehouse_dsn, OBSERVED_SQL, ["identifier_type", "identifier_value", "is_linkable"])
    items = truth.merge(observed, on=["identifier_type", "identifier_value"], how="inner")
    items = items[items["is_linkable"].astype(bool)]
    resolved = _query(warehouse_dsn, RESOLVED_SQL, ["identifier_type", "identifier_value", "customer_key"])
    items = items.assign(cluster=_clusters(items, resolved, "customer_key").to_numpy())
    pairs = items.merge(items, on="person_id", suffixes=("_a", "_b"))
    pairs = pairs[
        (pairs["identifier_type_a"] + pairs["identifier_value_a"])
        < (pairs["identifier_type_b"] + pairs["identifier_value_b"])
    ]
    missed = pairs[pairs["cluster_a"] != pairs["cluster_b"]]
    return (
        missed.groupby(["identifier_type_a", "identifier_type_b"])
        .size()
        .sort_values(ascending=False)
        .rename("pairs")
        .reset_index()
    )
