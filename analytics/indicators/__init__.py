"""Indicator definitions: one reviewed TOML file per indicator in ``definitions/``, read and checked by
:mod:`analytics.indicators.definition`. Scoring with them is :mod:`analytics.scoring`."""
