"""PDF documents of the OMS: pure functions from document data to PDF bytes (reportlab, DejaVu fonts)."""
