"""The benchmark: `make bench` (README, "Performance"). Nothing here ships with the app."""
