"""Imaging: what CT reports (and, later, CT images) say about bone (issue 17).

:mod:`bonepath.imaging.report` is the rule-based CT report checker (text only, standard library
and :mod:`bonepath.vocab`): like ``vocab`` and ``units`` it can sit below ``record``, so that
flattening a record applies it (docs/imaging.md, clarifications C-28). Image reading (DICOM, PACS)
belongs beside it and above the domain.
"""
