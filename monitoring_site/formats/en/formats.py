"""Date formats of the site in English, the admin included: 24 h, UTC, ISO-like dates.

The pages write times as "2026-12-01 21:14 UTC"; without this module the admin would
write "Dec. 1, 2026, 9:14 p.m." (Django's English locale). Settings alone cannot do it:
the locale's formats win over DATETIME_FORMAT since localization is always on.
"""
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = r"Y-m-d H:i \U\T\C"
SHORT_DATETIME_FORMAT = r"Y-m-d H:i \U\T\C"
MONTH_DAY_FORMAT = "F j"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1
