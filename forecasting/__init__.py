"""Forecasting code that the edge agent and the sync server need identically: a library, no app.

:mod:`forecasting.features` builds the model's features (numpy) the same way where the model is
trained (``sync_server.forecast``) and where it runs (``edge_agent.forecast``), so the two cannot
drift apart. The model bundle and the served forecast are wire formats and live in
:mod:`a2d.forecastwire`; this package imports no app, and apps import it only where they forecast.
Nothing is imported here, so ``import forecasting`` loads no numpy.
"""
