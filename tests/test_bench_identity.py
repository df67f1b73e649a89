"""`make bench-identity` end to end at a tiny size: it resolves exactly the customers it synthesised (it
raises otherwise) and reports every step."""

from __future__ import annotations


def test_bench_identity_resolves_what_it_synthesised_and_reports_every_step(settings):
    from frictionflow.bench_identity import RESOLUTION_MODELS, ROWS_PER_PERSON, SECTION, run

    rows = 200 * ROWS_PER_PERSON
    section = run(settings, rows=rows, log=lambda _: None)
    assert section.startswith(SECTION.format(rows=f"{rows:,}"))
    assert all(f"`{model}`" in section for model in RESOLUTION_MODELS)
    assert "second night (incremental" in section
