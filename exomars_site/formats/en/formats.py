# Day, month abbreviation, year: the order an international office reads without doubt
# ("19 Nov 2012"), rather than Django's American "Nov. 19, 2012".
DATE_FORMAT = "j M Y"
