"""The legacy data directory: a lossless import into the database, and the export back.

``importing.import_legacy_dir`` and ``exporter.export_legacy_dir`` are the services behind
``manage.py import_legacy`` and ``manage.py export_legacy`` (SPEC §7). This app reads and
writes both predictions and alerting records, so it depends on both apps, and nothing
depends on it: when the last legacy directory is migrated, the app can go.
"""
