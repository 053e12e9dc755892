"""The registry: a Django 5.2 project for children with CP treated with cells.

Models, forms, views, templates, admin, REST API (django-ninja), permissions and the audit trail
(django-simple-history). It calls the pure layers :mod:`cpstem.measures`,
:mod:`cpstem.reference` and :mod:`cpstem.outcomes`; those never import Django.
"""
