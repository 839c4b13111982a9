"""Date formats per language where the tracker departs from Django's (FORMAT_MODULE_PATH).

Only the names set here change; everything else is Django's format for the language.
"""
