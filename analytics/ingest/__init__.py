"""Django-free parsers for the national open-data files, one module per dataset. :mod:`analytics.ingest.parsers`
maps each dataset id to its parser (``PARSERS``); :mod:`analytics.ingest.base` is the contract every parser keeps."""
