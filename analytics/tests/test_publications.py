"""Every source file records its period and publication date; one gate decides what an as-of score may read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analytics.publications import PublicationError, read_publications, usable


def test_every_source_and_history_file_has_a_period_and_a_publication_date() -> None:
    pubs = read_publications()
    keys = {(p.dataset, p.period) for p in pubs}
    for fy in ("2019-20", "2020-21", "2021-22", "2022-23"):
        assert ("payments", fy) in keys
    assert {("qof", "2021-22"), ("qof", "2022-23")} <= keys
    assert {("workforce", f"{y - 1}-{y % 100:02d}") for y in range(2016, 2026)} <= keys
    assert all(p.basis for p in pubs)


def test_a_period_is_usable_only_from_its_publication_date() -> None:
    pubs = read_publications()
    # Payments 2022-23 ended 31 March 2023 but was published in November 2023: not usable on 1 April 2023.
    assert ("payments", "2022-23") not in usable(pubs, date(2023, 4, 1))
    assert ("payments", "2021-22") in usable(pubs, date(2023, 4, 1))
    assert ("payments", "2021-22") not in usable(pubs, date(2022, 11, 23))
    assert ("payments", "2021-22") in usable(pubs, date(2022, 11, 24))
    # The workforce mean for FY 2022/23 includes March 2023, published after 1 April 2023.
    assert ("workforce", "2022-23") not in usable(pubs, date(2023, 4, 1))
    assert ("workforce", "2021-22") in usable(pubs, date(2023, 4, 1))
    # The CQC snapshot of April 2024 cannot inform any score before it.
    assert not any(d == "cqc" for d, _ in usable(pubs, date(2023, 4, 1)))


def test_where_two_files_cover_a_period_the_later_date_is_kept(tmp_path: Path) -> None:
    toml = tmp_path / "sources.toml"
    toml.write_text(
        '[[source]]\nid = "w"\npath = "new.csv"\nperiod = "2022-23"\npublished = 2024-01-01\n'
        'published_basis = "test"\n'
        '[[source.history]]\npath = "old.csv"\nperiod = "2022-23"\npublished = 2023-06-01\npublished_basis = "t"\n'
    )
    (pub,) = read_publications(toml)
    assert (pub.published, pub.path) == (date(2024, 1, 1), "new.csv")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('path = "a.csv"\nperiod = "2022-23"\npublished_basis = "x"\n', "lacks published"),
        ('path = "a.csv"\nperiod = "2022-23"\npublished = "soon"\npublished_basis = "x"\n', "'soon' is not a date"),
        (
            'path = "a.csv"\nperiod = "p"\npublished = 2020-01-01\npublished_basis = "x"\npublished_by_period = 3\n',
            "published_by_period must be a table",
        ),
    ],
)
def test_an_incomplete_entry_is_refused_naming_the_source(tmp_path: Path, body: str, message: str) -> None:
    toml = tmp_path / "sources.toml"
    toml.write_text(f'[[source]]\nid = "x"\n{body}')
    with pytest.raises(PublicationError, match=f"source x.*{message}"):
        read_publications(toml)


def test_the_import_log_date_wins_then_the_registry_then_the_first_import() -> None:
    from analytics.publications import Imported, Publication, dated

    registry = [Publication("payments", "2021-22", date(2022, 11, 24), "p.csv", "publisher page")]
    imported = [
        Imported("payments", "2021-22", "p.csv", date(2026, 1, 5)),  # shipped file: nothing recorded on this log
        Imported("registrations", "2023-04-01", "r.csv", date(2026, 1, 5), date(2023, 4, 13), "HTTP Last-Modified"),
        Imported("registrations", "2023-04-01", "r2.csv", date(2026, 2, 1), date(2023, 5, 2), "HTTP Last-Modified"),
        Imported("registrations", "2022-04-01", "old.csv", date(2026, 1, 7)),
    ]
    present = [("payments", "2021-22"), ("registrations", "2023-04-01"), ("registrations", "2022-04-01")]
    got = {(p.dataset, p.period): p.published for p in dated(registry, imported, present)}
    assert got == {
        ("payments", "2021-22"): date(2022, 11, 24),
        ("registrations", "2023-04-01"): date(2023, 5, 2),  # a later re-publication moves it later, never earlier
        ("registrations", "2022-04-01"): date(2026, 1, 7),  # nothing recorded anywhere: the day it was in hand
    }
    assert ("registrations", "2021-04-01") not in got  # not in the database: never dated, never usable


def test_every_release_page_in_the_registry_is_cited_by_its_files_provenance() -> None:
    """No invented addresses: a file's page_url must appear in a PROVENANCE file of its folder."""
    import tomllib

    from analytics.publications import SOURCES_TOML, source_files
    from analytics.tests.support import NATIONAL

    config = tomllib.loads(SOURCES_TOML.read_text(encoding="utf-8"))
    pages = [(f.path, f.url) for entry in config["source"] for f in source_files(entry, str(entry["id"])) if f.url]
    assert len(pages) == 4
    for path, url in pages:
        folder = NATIONAL / path.split("/")[0]
        if not folder.exists():
            continue
        cited = "".join(p.read_text(encoding="utf-8") for p in folder.glob("PROVENANCE*.md"))
        assert url in cited, (path, url)
