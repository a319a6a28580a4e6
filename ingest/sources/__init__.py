"""One dlt source per upstream system of the landing zone contract."""
