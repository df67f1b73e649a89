"""Keys shared between sandbox systems, so that ERP, MDM (and logistics) agree without reading each other.

- `erp_customer_no(person_index)`: the ERP customer number of a person ("C" + 10 digits).
- `erp_customers(population)`: who has an ERP customer record, since when, with which email: every CRM
  customer (the ERP account is opened when they sign up) plus some prospects who are known to the ERP only
  (they order in a store or by phone, never online). erp.py renders these; mdm.py masters them.

Nothing here draws from the population's own random stream: adding a caller changes no other system.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from . import vocab
from .config import stream_seed
from .population import MS_DAY, MS_HOUR, Population

ERP_ONLY_SHARE = 0.15  # share of prospects (no CRM contact) who are ERP customers: store and phone buyers
ERP_ONLY_EMAIL_SHARE = 0.6  # of those, the share who gave an email address at the till or on the phone

_CUSTOMER_SPACE = 10**10
# An odd multiplier that is not a multiple of 5 is coprime with 10^10: the mapping is a permutation, so
# sequential person indexes give scattered but never colliding numbers.
_SCRAMBLE = 2_654_435_761
_OFFSET = 7_919_101_003


def erp_customer_no(person_index: int) -> str:
    """The ERP customer number of the person at `person_index` (0-based), e.g. C0001234567."""
    return f"C{((int(person_index) + 1) * _SCRAMBLE + _OFFSET) % _CUSTOMER_SPACE:010d}"


def erp_customer_nos(person_index: np.ndarray | list[int]) -> list[str]:
    """Vectorised erp_customer_no."""
    idx = np.asarray(person_index, np.int64)
    # Python ints: (idx + 1) * _SCRAMBLE overflows int64 for a million persons.
    return [f"C{((i + 1) * _SCRAMBLE + _OFFSET) % _CUSTOMER_SPACE:010d}" for i in idx.tolist()]


@dataclass(frozen=True)
class ErpCustomers:
    """Persons with an ERP customer record, sorted by person index."""

    person: np.ndarray  # int64 person index
    customer_no: list[str]
    created_ms: np.ndarray  # when the ERP record was opened (epoch ms)
    erp_only: np.ndarray  # bool: no CRM contact, the ERP is the only system that knows them by name
    email: list[str | None]  # canonical (lower-case) email the ERP holds; None when unknown


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def erp_customers(population: Population) -> ErpCustomers:
    cached = _CACHE.get(population)
    if cached is None:
        cached = _CACHE[population] = _build(population)
    return cached


def _build(pop: Population) -> ErpCustomers:
    rng = np.random.default_rng(stream_seed(pop.config.seed, "erp-customers"))
    n = pop.n_persons
    prospect = ~pop.is_customer
    erp_only = prospect & (rng.random(n) < ERP_ONLY_SHARE)
    person = np.flatnonzero(pop.is_customer | erp_only)
    created = np.where(pop.is_customer, pop.signup_ms, 0)
    # ERP-only customers were opened before the simulated window (their first store or phone order).
    span = 3 * 365 * MS_DAY
    historic = pop.world_start_ms - MS_HOUR - rng.integers(0, span, n)
    created = np.where(erp_only, historic // 1000 * 1000, created)[person]

    emails: list[str | None] = []
    has_email = rng.random(n) < ERP_ONLY_EMAIL_SHARE
    digits = rng.integers(10, 99, n)
    domain = rng.integers(0, len(vocab.PERSONAL_DOMAINS), n)
    for p in person.tolist():
        if pop.is_customer[p]:
            emails.append(pop.canonical_email[pop.primary_contact[p]])
        elif has_email[p]:
            first = pop.first_name[p].lower()
            last = pop.last_name[p].lower().replace("'", "")
            # A person index in the local part: unique by construction, no clash with CRM addresses.
            emails.append(f"{first}.{last}{digits[p]}.{p}@{vocab.PERSONAL_DOMAINS[domain[p]]}")
        else:
            emails.append(None)
    return ErpCustomers(person, erp_customer_nos(person), created, erp_only[person], emails)
