"""The practice register: NHS England region → ICB → sub-ICB location → PCN → practice, with history.

Everything here is loaded from national open data by the ``datasets`` app and keyed by ODS codes, which are
never reused. Only English GP practices are kept (Welsh ``W…`` codes and non-GP prescribing settings are counted
and left out by the importer); closed practices stay, with their close dates, because the back-test needs them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q, QuerySet


class Region(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="NHS England region ODS code, e.g. Y63")
    ons_code = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ICB(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="ICB ODS code, e.g. QHM")
    ons_code = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="icbs")

    class Meta:
        ordering = ["name"]
        verbose_name = "ICB"

    def __str__(self) -> str:
        return self.short_name

    @property
    def short_name(self) -> str:
        return self.name.removeprefix("NHS ").removesuffix(" Integrated Care Board")


class SubICB(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="Sub-ICB location (former CCG) code, e.g. 16C")
    ons_code = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200)
    icb = models.ForeignKey(ICB, null=True, blank=True, on_delete=models.SET_NULL, related_name="sub_icbs")

    class Meta:
        ordering = ["name"]
        verbose_name = "sub-ICB location"

    def __str__(self) -> str:
        return self.name


class PCN(models.Model):
    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=200)
    sub_icb = models.ForeignKey(SubICB, null=True, blank=True, on_delete=models.SET_NULL, related_name="pcns")
    open_date = models.DateField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    address = models.CharField(max_length=400, blank=True)
    postcode = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "PCN"

    def __str__(self) -> str:
        return self.name


class PracticeStatus(models.TextChoices):
    ACTIVE = "active", "Open"
    CLOSED = "closed", "Closed"
    DORMANT = "dormant", "Dormant"
    PROPOSED = "proposed", "Proposed"


class PracticeQuerySet(QuerySet["Practice"]):
    def open(self) -> PracticeQuerySet:
        """Practices open now: ODS status active. Dormant (ODS keeps the code but the practice sees no patients),
        proposed and closed practices are not open, so they are neither scored for targeting nor counted as open."""
        return self.filter(status=PracticeStatus.ACTIVE)

    def in_icb(self, code: str) -> PracticeQuerySet:
        return self.filter(icb__code=code)

    def in_pcn(self, code: str) -> PracticeQuerySet:
        return self.filter(pcn__code=code)

    def search(self, text: str) -> PracticeQuerySet:
        """Match an ODS code exactly or by prefix, a name by words, or a postcode ignoring spaces."""
        text = text.strip()
        if not text:
            return self
        compact = text.replace(" ", "").upper()
        q = Q(code__istartswith=compact) | Q(postcode_compact__startswith=compact)
        words = Q()
        for word in text.split():
            words &= Q(name__icontains=word)
        return self.filter(q | words)


class Practice(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="ODS practice code, e.g. A81001")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=PracticeStatus.choices, db_index=True)
    open_date = models.DateField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    address = models.CharField(max_length=400, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    postcode_compact = models.CharField(max_length=10, blank=True, db_index=True, editable=False)
    phone = models.CharField(max_length=40, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="practices")
    icb = models.ForeignKey(ICB, null=True, blank=True, on_delete=models.SET_NULL, related_name="practices")
    sub_icb = models.ForeignKey(SubICB, null=True, blank=True, on_delete=models.SET_NULL, related_name="practices")
    pcn = models.ForeignKey(PCN, null=True, blank=True, on_delete=models.SET_NULL, related_name="practices")
    list_size = models.PositiveIntegerField(null=True, blank=True)
    list_size_date = models.DateField(null=True, blank=True)
    contract_type = models.CharField(max_length=10, blank=True)
    rurality = models.CharField(max_length=10, blank=True)
    dispensing = models.BooleanField(null=True, blank=True)
    supplier = models.CharField(max_length=40, blank=True, help_text="GP clinical system supplier")
    imd_score = models.FloatField(null=True, blank=True, help_text="IMD 2019 practice score (OHID Fingertips)")
    imd_quintile = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 = most deprived")
    # The hierarchy codes ODS gives the practice; used to link practices the current mapping file does not list.
    ods_region_code = models.CharField(max_length=8, blank=True)
    ods_icb_code = models.CharField(max_length=8, blank=True)
    ods_sub_icb_code = models.CharField(max_length=8, blank=True)

    objects = PracticeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["icb", "status"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def display_name(self) -> str:
        return self.name.title() if self.name.isupper() else self.name


class PCNMembership(models.Model):
    """A practice's membership of a PCN over time (ODS ePCN core partners, and the current mapping file)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="pcn_memberships", db_index=False)
    pcn = models.ForeignKey(PCN, on_delete=models.CASCADE, related_name="memberships")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "pcn", "start_date"], name="uniq_pcn_membership")]
        ordering = ["-start_date"]

    def __str__(self) -> str:
        return f"{self.practice_id} in {self.pcn_id} from {self.start_date}"


class ListSizeSnapshot(models.Model):
    """Registered patients at an extract date (Patients Registered at a GP Practice)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="list_sizes", db_index=False)
    extract_date = models.DateField()
    patients = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "extract_date"], name="uniq_list_size")]
        ordering = ["extract_date"]

    def __str__(self) -> str:
        return f"{self.practice_id} {self.extract_date}: {self.patients}"


class WorkforceYear(models.Model):
    """Mean FTE and headcount over a financial year; ``fy_end_year`` 2023 means FY 2022/23."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="workforce_years", db_index=False)
    fy_end_year = models.PositiveSmallIntegerField()
    patients = models.FloatField(null=True)
    gp_fte = models.FloatField(null=True, help_text="Fully qualified GPs excluding trainees and locums")
    locum_trainee_fte = models.FloatField(null=True)
    nurse_fte = models.FloatField(null=True)
    dpc_fte = models.FloatField(null=True, help_text="Direct patient care staff")
    admin_fte = models.FloatField(null=True)
    admin_manager_fte = models.FloatField(null=True, help_text="Practice managers (history files only)")
    admin_reception_fte = models.FloatField(null=True, help_text="Receptionists (history files only)")
    admin_telephonist_fte = models.FloatField(null=True, help_text="Telephonists (history files only)")
    gp_partner_fte = models.FloatField(null=True, help_text="Senior partners plus partner/providers")
    partners_per_gp_fte = models.FloatField(null=True)
    gp_hc = models.FloatField(null=True)
    nurse_hc = models.FloatField(null=True)
    imd_score = models.FloatField(null=True)
    imd_quintile = models.PositiveSmallIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "fy_end_year"], name="uniq_workforce_year")]
        ordering = ["fy_end_year"]

    @property
    def financial_year(self) -> str:
        return f"{self.fy_end_year - 1}/{str(self.fy_end_year)[2:]}"

    @property
    def clinical_fte(self) -> float | None:
        parts = [self.gp_fte, self.locum_trainee_fte, self.nurse_fte, self.dpc_fte]
        if self.gp_fte is None:
            return None
        return sum(p for p in parts if p is not None)

    @staticmethod
    def _per(patients: float | None, fte: float | None) -> float | None:
        if patients is None or not fte:
            return None
        return patients / fte

    @property
    def patients_per_gp_fte(self) -> float | None:
        return self._per(self.patients, self.gp_fte)

    @property
    def patients_per_nurse_fte(self) -> float | None:
        return self._per(self.patients, self.nurse_fte)

    @property
    def patients_per_clinical_fte(self) -> float | None:
        return self._per(self.patients, self.clinical_fte)

    def __str__(self) -> str:
        return f"{self.practice_id} FY{self.fy_end_year}"


class CQCRating(models.Model):
    class Rating(models.TextChoices):
        OUTSTANDING = "Outstanding"
        GOOD = "Good"
        REQUIRES_IMPROVEMENT = "Requires improvement"
        INADEQUATE = "Inadequate"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="cqc_ratings", db_index=False)
    location_name = models.CharField(max_length=200)
    rating = models.CharField(max_length=30, choices=Rating.choices)
    rating_year = models.PositiveSmallIntegerField(null=True)
    inherited = models.BooleanField(default=False)
    as_of = models.CharField(max_length=10, help_text="When the ratings file was in force, e.g. 2024-04")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "location_name"], name="uniq_cqc_location")]

    def __str__(self) -> str:
        return f"{self.location_name}: {self.rating}"


class QOFAchievement(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="qof", db_index=False)
    qof_year = models.CharField(max_length=7, help_text="e.g. 2022-23")
    points = models.FloatField()
    max_points = models.FloatField()
    percent_of_max = models.FloatField()
    list_size = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "qof_year"], name="uniq_qof_year")]
        ordering = ["qof_year"]

    def __str__(self) -> str:
        return f"{self.practice_id} QOF {self.qof_year}: {self.points}"


class QOFPrevalence(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="prevalence", db_index=False)
    qof_year = models.CharField(max_length=7)
    group_code = models.CharField(max_length=8)
    register = models.PositiveIntegerField()
    list_type = models.CharField(max_length=8)
    list_size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "qof_year", "group_code"], name="uniq_qof_prevalence")
        ]

    @property
    def prevalence_percent(self) -> float | None:
        return 100 * self.register / self.list_size if self.list_size else None

    def __str__(self) -> str:
        return f"{self.practice_id} {self.group_code} {self.qof_year}"


class QOFGroup(models.Model):
    code = models.CharField(max_length=8, unique=True)
    description = models.CharField(max_length=200)
    domain_code = models.CharField(max_length=8)
    domain_description = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class PaymentsYear(models.Model):
    """NHS Payments to General Practice for one financial year. Money in integer pence."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="payments", db_index=False)
    financial_year = models.CharField(max_length=7, help_text="e.g. 2022-23")
    registered_patients = models.FloatField(null=True)
    weighted_patients = models.FloatField(null=True)
    total_pence = models.BigIntegerField(null=True)
    contract_type = models.CharField(max_length=10, blank=True)
    rurality = models.CharField(max_length=10, blank=True)
    dispensing = models.BooleanField(null=True)
    atypical = models.CharField(max_length=100, blank=True, help_text="e.g. 'Part year of data'")
    lines_pence = models.JSONField(default=dict, help_text="Payment line → pence, non-zero lines only")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "financial_year"], name="uniq_payments_year")]
        ordering = ["financial_year"]

    @property
    def per_weighted_patient_pence(self) -> int | None:
        if self.total_pence is None or not self.weighted_patients:
            return None
        return round(self.total_pence / self.weighted_patients)

    @property
    def per_registered_patient_pence(self) -> int | None:
        if self.total_pence is None or not self.registered_patients:
            return None
        return round(self.total_pence / self.registered_patients)

    def __str__(self) -> str:
        return f"{self.practice_id} payments {self.financial_year}"


class Lsoa2011(models.Model):
    """Lower-layer super output area (2011): commissioning geography and population-weighted centroid."""

    code = models.CharField(max_length=9, unique=True)
    name = models.CharField(max_length=100)
    sub_icb_code = models.CharField(max_length=8, blank=True)
    lad_code = models.CharField(max_length=9, blank=True)
    lad_name = models.CharField(max_length=100, blank=True)
    lat = models.FloatField(null=True)
    lon = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Lsoa2021(models.Model):
    code = models.CharField(max_length=9, unique=True)
    name = models.CharField(max_length=100)
    icb_ons_code = models.CharField(max_length=9)
    icb_name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PracticeLineage(models.Model):
    """A practice code absorbed into another (merger lineage 2013-2022). Codes, not links to the register: a code
    absorbed before the ODS file's horizon, or one ODS files as a non-GP setting, is still part of the history."""

    predecessor_code = models.CharField(max_length=8, unique=True)
    successor_code = models.CharField(max_length=8, db_index=True)
    absorbed = models.DateField(null=True, help_text="the predecessor's last month with at least 1,000 patients")

    class Meta:
        ordering = ["predecessor_code"]

    def __str__(self) -> str:
        return f"{self.predecessor_code} -> {self.successor_code} ({self.absorbed})"


class DisappearanceLabel(models.Model):
    """What happened to a practice code that disappeared, by desk research: evaluation only, never an indicator."""

    class Outcome(models.TextChoices):
        CLOSURE = "closure", "True closure (patients dispersed)"
        MERGER = "merger", "Merger (absorbed by a successor)"

    practice_code = models.CharField(max_length=8, unique=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)

    class Meta:
        ordering = ["practice_code"]

    def __str__(self) -> str:
        return f"{self.practice_code}: {self.outcome}"


class PreparedDownload(models.Model):
    """A large register download written by the background worker (an XLSX of the whole register takes most of a
    second to write: too long for a request). Kept under the digest of its rows and columns, so the same rows are
    served at once and a changed register makes a new file; only the newest few are kept."""

    digest = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=100)
    rows = models.PositiveIntegerField()
    content = models.BinaryField(null=True, help_text="the file, once the worker has written it")
    requested_at = models.DateTimeField(auto_now_add=True)
    built_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.rows} rows, {'ready' if self.built_at else 'being written'})"
