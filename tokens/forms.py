"""Admin forms. They parse input; the rules are checked by the services they feed."""

from __future__ import annotations

import re
import secrets

from django import forms
from django.core import signing

from tokens.models import Instance, License

EXPIRY_CHOICES = [(1, "1 day"), (3, "3 days"), (7, "1 week"), (14, "2 weeks"), (30, "30 days")]
_NONCE_SALT = "tokens.issue-form"


class InstanceForm(forms.ModelForm):
    # Write-only: a password input that is never filled in, so the stored token never reaches a page.
    api_token = forms.CharField(
        label="Atlassian API token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: it is stored encrypted and never shown again. Leave blank to keep the stored token.",
    )

    class Meta:
        model = Instance
        fields = ["name", "base_url", "auth_type", "email", "api_token", "cloud_id"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A view-only form (an auditor's) has no editable fields at all.
        if self.instance.pk is None and "api_token" in self.fields:
            self.fields["api_token"].required = True
            self.fields["api_token"].help_text = "Write-only: it is stored encrypted and never shown again."
        elif "name" in self.fields:
            self.fields["name"].disabled = True


class LicenseForm(forms.ModelForm):
    class Meta:
        model = License
        fields = ["instance", "reference", "valid_from", "valid_until", "active"]


class IssueTokenForm(forms.Form):
    instance = forms.ModelChoiceField(queryset=Instance.objects.all(), empty_label=None)
    label = forms.CharField(
        max_length=200,
        help_text="3 to 50 letters, digits, '-' or '_', unique for the instance; e.g. ci-docs-main.",
    )
    days = forms.TypedChoiceField(label="Expires after", choices=EXPIRY_CHOICES, coerce=int, initial=30)
    spaces = forms.CharField(
        label="Allowed spaces",
        required=False,
        help_text="Space keys separated by spaces or commas, e.g. DOCS ENG. Leave empty to allow every space.",
    )
    # A signed one-time value: submitting the same form twice (reload, back and resubmit, double click)
    # must not issue a second token behind the admin's back.
    nonce = forms.CharField(widget=forms.HiddenInput)

    @staticmethod
    def new_nonce(user_pk: int) -> str:
        return signing.TimestampSigner(salt=_NONCE_SALT).sign_object({"u": user_pk, "n": secrets.token_urlsafe(12)})

    @staticmethod
    def nonce_valid_for(nonce: str, user_pk: int) -> bool:
        try:
            value = signing.TimestampSigner(salt=_NONCE_SALT).unsign_object(nonce, max_age=3600)
        except signing.BadSignature:
            return False
        return value.get("u") == user_pk

    def space_keys(self) -> list[str]:
        return [key for key in re.split(r"[\s,;]+", self.cleaned_data.get("spaces", "")) if key]
