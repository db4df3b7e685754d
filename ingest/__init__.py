"""Ingestion: fetch feeds over HTTP, parse bytes with feedparser, publish articles to the bus."""
