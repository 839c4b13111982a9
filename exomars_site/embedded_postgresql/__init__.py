"""Django's PostgreSQL backend for the server embedded in the project's folder
(exomars_site/database.py), started when a connection is first needed, not at import."""
