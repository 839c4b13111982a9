# Without the abbreviation of "year" that Django puts after it, as the tracker writes a year
# alone ("2016"). A day takes the month in the genitive (DATE_FORMAT's "E"), a month alone
# the nominative ("F"): "19 November 2012" and "February 2013", declined as Russian does.
DATE_FORMAT = "j E Y"
YEAR_MONTH_FORMAT = "F Y"
