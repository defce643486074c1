"""Ingest: read files, map records to graph rows, write them through the store port."""
