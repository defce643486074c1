"""Risk cases (issue #12): open, work, search by network and export a case file."""
