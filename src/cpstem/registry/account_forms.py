"""Forms of the administrators' account pages (sites and users); every change asks why."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from cpstem.registry.models import Role, Site
from cpstem.registry.models.sites import SITE_ROLES

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class ReasonField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("label", "Reason (for the audit trail)")
        super().__init__(**kwargs)


class SiteForm(forms.Form):
    code = forms.CharField(
        max_length=16, help_text="Short code in capitals, e.g. LUB (letters, digits, - or _)"
    )
    name = forms.CharField(max_length=200, help_text="Full name of the centre")
    reason = ReasonField(initial="new treating centre")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if Site.objects.filter(code=code).exists():
            raise forms.ValidationError(
                "site %(code)s already exists", code="duplicate", params={"code": code}
            )
        return code


class _SiteChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Site) -> str:
        return f"{obj.code} - {obj.name}"


def _check_site(cleaned: dict, form: forms.Form) -> None:
    role, site = cleaned.get("role"), cleaned.get("site")
    if role in SITE_ROLES and site is None:
        form.add_error(
            "site",
            forms.ValidationError(
                "a %(role)s needs a site (the site whose patients they see)",
                code="required",
                params={"role": role},
            ),
        )


class NewUserForm(forms.Form):
    """A user with a role and a site; the registry makes a one-time password."""

    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        label="User name",
        error_messages={"invalid": "use letters, digits and @ . + - _ only"},
    )
    email = forms.EmailField(required=False, help_text="For visit reminders (clinicians)")
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    site = _SiteChoice(
        queryset=Site.objects.order_by("code"),
        required=False,
        help_text="Clinicians and monitors: their site. Administrators and researchers see all.",
    )
    reason = ReasonField(initial="new member of staff")

    def clean_username(self) -> str:
        name = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(
                "user %(name)s already exists", code="duplicate", params={"name": name}
            )
        return name

    def clean(self) -> dict:
        cleaned = super().clean()
        _check_site(cleaned, self)
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    site = _SiteChoice(queryset=Site.objects.order_by("code"), required=False)
    email = forms.EmailField(required=False)
    reason = ReasonField()

    def clean(self) -> dict:
        cleaned = super().clean()
        _check_site(cleaned, self)
        return cleaned


class ReasonForm(forms.Form):
    reason = ReasonField()
