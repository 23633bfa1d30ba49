"""The full national import, as loaded once for the test session from the shipped files."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.datasets.models import ImportLog
from apps.datasets.registry import sources
from apps.practices.models import ICB, PCN, ListSizeSnapshot, Practice, PracticeStatus, Region, SubICB

pytestmark = pytest.mark.django_db


def test_every_registered_source_was_loaded_successfully():
    loaded = {log.dataset: log for log in ImportLog.objects.filter(status=ImportLog.Status.SUCCESS)}
    assert set(loaded) == {s.id for s in sources()}
    for log in loaded.values():
        assert log.rows_read > 0, log.dataset
        assert log.created + log.updated > 0, log.dataset


def test_register_holds_about_6250_open_english_practices_and_no_welsh_ones():
    open_practices = Practice.objects.filter(status=PracticeStatus.ACTIVE)
    assert 6200 <= open_practices.count() <= 6300
    assert not Practice.objects.filter(code__startswith="W").exists()
    log = ImportLog.objects.get(dataset="epraccur", status=ImportLog.Status.SUCCESS)
    assert log.skip_reasons["Welsh practice (outside the English programmes)"] > 300
    assert log.skip_reasons["not a GP practice (other prescribing setting)"] > 1000


def test_hierarchy_has_7_regions_42_icbs_106_sub_icbs_and_about_1300_pcns():
    assert Region.objects.count() == 7
    assert ICB.objects.count() == 42
    assert SubICB.objects.count() == 106
    assert 1250 <= PCN.objects.count() <= 1400


def test_open_practices_are_linked_to_an_icb_and_have_a_list_size():
    open_practices = Practice.objects.filter(status=PracticeStatus.ACTIVE)
    assert open_practices.filter(icb__isnull=True).count() < 60
    with_list = open_practices.filter(list_size__isnull=False).count()
    assert with_list / open_practices.count() > 0.98


def test_a_known_practice_has_its_national_data_joined():
    p = Practice.objects.get(code="A81001")
    assert p.name == "THE DENSHAM SURGERY"
    assert p.icb.code == "QHM" and p.region.code == "Y63" and p.sub_icb.code == "16C"
    assert p.pcn.code == "U89141"
    assert p.list_size == 3904
    assert p.lat == pytest.approx(54.5616, abs=1e-3)
    assert p.contract_type == "GMS" and p.rurality == "Urban" and p.dispensing is False
    # FY 2015/16 .. 2021/22 from the history files, 2022/23 .. 2024/25 from the newer derivation
    assert [w.fy_end_year for w in p.workforce_years.all()][-3:] == [2023, 2024, 2025]
    assert [w.fy_end_year for w in p.workforce_years.all()][:7] == list(range(2016, 2023))
    assert p.cqc_ratings.get().rating == "Good"
    assert p.qof.get(qof_year="2022-23").points > 0
    pay = p.payments.get(financial_year="2022-23")
    assert pay.total_pence == 72046251  # £720,462.51 in the file, kept to the penny
    assert pay.lines_pence["Global Sum"] == 43809978


def test_registered_patients_total_matches_the_publication():
    log = ImportLog.objects.get(dataset="registrations", status=ImportLog.Status.SUCCESS)
    assert log.rows_read == 6239
    total = sum(ListSizeSnapshot.objects.values_list("patients", flat=True))
    # 63,769,849 in England less the few practices not English GP practices in ODS
    assert 63_000_000 < total <= 63_769_849


def _files() -> int:
    """Files in the registry: each source's history files and its newest file, one ImportLog each."""
    return sum(len(s.files) for s in sources())


def test_second_run_changes_nothing(capsys):
    before = ImportLog.objects.count()
    call_command("import_national", force=True, quiet=True)
    runs = ImportLog.objects.order_by("-started_at")[: _files()]
    assert ImportLog.objects.count() == before + _files()
    for log in runs:
        assert log.status == ImportLog.Status.SUCCESS, (log.dataset, log.message)
        assert (log.created, log.updated) == (0, 0), log.dataset
        assert log.unchanged > 0, log.dataset


def test_unchanged_files_are_passed_over_without_parsing():
    call_command("import_national", quiet=True)
    latest = ImportLog.objects.order_by("-started_at")[: _files()]
    assert {log.status for log in latest} == {ImportLog.Status.UNCHANGED}


def test_history_files_are_loaded_with_every_layout():
    from apps.practices.models import PaymentsYear, QOFAchievement, WorkforceYear

    years = set(PaymentsYear.objects.values_list("financial_year", flat=True).distinct())
    assert years == {"2019-20", "2020-21", "2021-22", "2022-23"}
    assert set(QOFAchievement.objects.values_list("qof_year", flat=True).distinct()) == {"2021-22", "2022-23"}
    a = {w.fy_end_year: w for w in WorkforceYear.objects.filter(practice__code="A81001")}
    # 2016 from both history files: admin sub-roles from one, nurses from the other, neither blanked by the other
    assert (a[2016].admin_reception_fte, a[2016].nurse_fte, a[2016].gp_fte) == (4.4, 1.0, 2.1)
    assert a[2024].admin_reception_fte is None  # the newer derivation owns FY 2023/24 and has no sub-roles
    log = ImportLog.objects.filter(dataset="workforce", file_name="workforce_year_gp_admin.csv").first()
    assert log is not None and log.skip_reasons["period loaded from the source's newer file"] > 12_000
