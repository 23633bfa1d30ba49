"""The caseload pages' input: the spreadsheet uploaded, and which of its columns holds each thing the import reads.

The column choice is judged by ``services.choose_columns`` (against the file's own headers), which the API's
operation calls with the same ``{column key: header}`` mapping the page's form gives."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.caseload import reading


class UploadForm(forms.Form):
    file = forms.FileField(error_messages={"required": "Choose the spreadsheet to upload (.xlsx or .csv)"})


class ColumnsForm(forms.Form):
    """One box per column the import reads (``reading.COLUMNS``), holding the header chosen for it ("" for none)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for column in reading.COLUMNS:
            self.fields[column.key] = forms.CharField(required=False)

    def mapping(self) -> dict[str, str]:
        """``{column key: header}`` for ``services.choose_columns`` (call after ``is_valid()``)."""
        return {column.key: self.cleaned_data.get(column.key, "") for column in reading.COLUMNS}
