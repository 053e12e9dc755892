"""The cohort dashboard's filters (visit, method, site, product, GMFCS, synthetic records)."""

from __future__ import annotations

from typing import Any

from django import forms

from cpstem.registry.models import Site
from cpstem.registry.models.patients import LEVELS
from cpstem.registry.models.sites import visible_site_ids
from cpstem.registry.models.treatment import Product
from cpstem.registry.services.cohort_ipd import Filters


class CohortFilterForm(forms.Form):
    """Invalid values fall back to the defaults (a filter never breaks the page)."""

    months = forms.TypedChoiceField(
        required=False,
        choices=[("6", "6 months"), ("12", "12 months"), ("24", "24 months")],
        coerce=int,
        empty_value=12,
        label="Visit",
    )
    method = forms.ChoiceField(
        required=False,
        choices=[("anchored", "child-anchored"), ("population", "population")],
        label="Expected change",
    )
    site = forms.ChoiceField(required=False, choices=[("", "all sites")])
    product = forms.ChoiceField(required=False, choices=[("", "all products"), *Product.choices])
    gmfcs = forms.TypedChoiceField(
        required=False,
        choices=[("", "all levels"), *((str(v), r) for v, r in LEVELS)],
        coerce=int,
        empty_value=None,
        label="GMFCS",
    )
    exclude_synthetic = forms.BooleanField(required=False, label="exclude synthetic children")

    def __init__(self, data: Any, user: Any):
        # the visit and method shown are the ones used: 12 months, child-anchored by default
        # (an unbound select would show its first option and submit it)
        data = data.copy()
        for name, default in (("months", "12"), ("method", "anchored")):
            if not data.get(name):
                data[name] = default
        super().__init__(data)
        sites = Site.objects.order_by("code")
        ids = visible_site_ids(user)
        if ids is not None:
            sites = sites.filter(pk__in=ids)
        self.fields["site"].choices = [("", "all sites"), *((s.code, s.code) for s in sites)]

    def filters(self) -> Filters:
        self.is_valid()
        d = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        return Filters(
            months=int(d.get("months", 12)),
            method=d.get("method", "anchored"),
            site=d.get("site"),
            product=d.get("product"),
            gmfcs=d.get("gmfcs"),
            exclude_synthetic=bool(d.get("exclude_synthetic", False)),
        )
