"""Ingestion: dlt pipelines that copy the landing zone, verbatim, into the raw_* schemas."""
