"""Django-free analytics core: parsing national files, scoring, simulation, optimisation.

Nothing in this package imports Django. Views, management commands and the CLI are thin adapters around it.
"""
