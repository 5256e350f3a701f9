"""Imaging: what CT reports (and, later, CT images) say about bone (issue 17).

:mod:`bonepath.imaging.report` is the rule-based CT report checker (text only, standard library
and :mod:`bonepath.vocab`): like ``vocab`` and ``units`` it sits below ``record``, which applies
it when a record is flattened (:mod:`bonepath.record.columns`). Image reading (DICOM, PACS)
belongs beside it and above the domain.
"""
