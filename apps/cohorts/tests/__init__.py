"""Tests of cohorts of universal offers."""
