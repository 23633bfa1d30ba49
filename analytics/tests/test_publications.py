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
