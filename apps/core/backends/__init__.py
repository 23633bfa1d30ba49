"""Django's SQLite and PostgreSQL backends, changed in one respect: flushing a table the database keeps immutable
(``apps.core.dbimmutable``) lifts its triggers inside the flush's transaction and puts them back.

The test runner flushes the database after every transactional test (and ``manage.py flush`` empties a development
database); the ledger's triggers would refuse that DELETE or TRUNCATE. The flush is the one place that lifts them,
however it is reached (the command, ``TransactionTestCase`` with ``available_apps``, ``sqlflush``), because every one
of those asks the backend's ``sql_flush`` for its statements.
"""
