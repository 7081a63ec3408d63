"""The consented-data API (FastAPI): purposes, consent, the access log; reads the lake through the core."""
