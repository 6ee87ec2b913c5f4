"""Offline HTML pages that show the images: ``report.html`` of a training, ``audit.html`` of an
audit. Presentation only: the pages are drawn from value objects (:class:`ReportData
<featx.report.data.ReportData>`, :class:`Audit <featx.auditing.findings.Audit>`)."""
