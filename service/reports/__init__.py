"""Reports over the audit trail and feedback (issue 13 items 5 and 6): per rule, per
organisation by 8-week period (CROP-style), the OME distribution of flagged patients, as
JSON, CSV and the ``/dashboard`` page.

``query`` reads the storage tables into plain rows (``rows``); ``aggregate`` counts them
(pure: no clock, no database); ``models`` are the response shapes (docs/reports.md);
``tabular`` writes them as CSV; ``charts`` and ``dashboard`` draw them as SVG and HTML.
"""
