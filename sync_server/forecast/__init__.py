"""Visitor-flow and energy forecasts: hourly series in, a signed ONNX model bundle out.

``series`` imports counts (CSV files, the server's hourly aggregates), ``calendar`` builds the
locale's day table, ``model`` trains and calibrates, ``export`` writes ONNX and the bundle,
``evaluate`` runs the holdout protocol, ``cli`` is ``a2d server forecast``. scikit-learn, skl2onnx,
onnxruntime and the ``holidays`` package (the ``train`` extra) are imported only inside these
modules' functions, never by the rest of the sync server.
"""
