"""The API tokens page's form: the name a user gives a new token."""

from __future__ import annotations

from django import forms


class TokenForm(forms.Form):
    """The token's name; the service (``apps.api.services.create_api_token``) judges it and says what is wrong."""

    name = forms.CharField(required=False, max_length=200)
