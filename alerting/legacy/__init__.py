"""The legacy data directory: a lossless import into the database, and the export back.

``importer.import_legacy_dir`` and ``exporter.export_legacy_dir`` are the services behind
``manage.py import_legacy`` and ``manage.py export_legacy`` (SPEC §7). They live in
``alerting`` because they read and write alerts and rules as well as predictions.
"""
