"""Registry quality indicators QC-01..QC-10 (rules.md §13), QC-11 (report QC, issue 17) and
outcomes (SRE, survival).

``measures`` holds the definitions; ``compute`` the set-based computation (ibis → SQL);
``run`` executes it in DuckDB over Arrow tables; ``results`` the report data; ``outcomes``
the Kaplan-Meier analyses; ``report`` the printable HTML/PDF. The store is read by
:mod:`bonepath.population.quality`. No web framework, ORM or FHIR library is imported here.
"""
