"""ONNX export of a trained :class:`~.model.Forecaster`, the parity check, and the bundle content."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from a2d.errors import KnownError
from a2d.forecastwire import Manifest, pack
from forecasting import features as ff

from .model import Forecaster

#: largest difference allowed between the ONNX and the scikit-learn output
PARITY = 1e-4
#: largest model bundle we accept to ship
MAX_MODEL_BYTES = 2 * 1024 * 1024


class ExportError(KnownError):
    """The ONNX model does not reproduce the trained one, or is too large."""


def to_onnx(model: Forecaster) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(
        model.estimator,
        initial_types=[("features", FloatTensorType([None, len(model.columns)]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return bytes(onx.SerializeToString())


def session(onnx_model: bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_model, sess_options=opts, providers=["CPUExecutionProvider"])


def onnx_predict(sess: Any, matrix: Any) -> Any:
    return sess.run(None, {"features": matrix})[0].reshape(-1)


def parity(model: Forecaster, onnx_model: bytes, x: ff.FloatArray) -> float:
    """Largest absolute difference between ONNX and scikit-learn on the rows ``x``."""
    matrix = model.matrix(x)
    ours = onnx_predict(session(onnx_model), matrix).astype(np.float64)
    theirs = model.raw(x)
    return float(np.max(np.abs(ours - theirs))) if len(theirs) else 0.0


def check_parity(model: Forecaster, onnx_model: bytes, x: ff.FloatArray) -> float:
    diff = parity(model, onnx_model, x)
    if not diff <= PARITY:
        raise ExportError(f"the ONNX model differs from the trained one by {diff:.2e} (> {PARITY:g})")
    return diff


def inference_ms(onnx_model: bytes, x: ff.FloatArray, model: Forecaster, repeat: int = 200) -> float:
    """Median milliseconds for one ONNX run over the rows ``x`` (336 hours: one forecast)."""
    sess = session(onnx_model)
    matrix = model.matrix(x)
    onnx_predict(sess, matrix)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        onnx_predict(sess, matrix)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def bundle_content(manifest: Manifest, onnx_model: bytes) -> bytes:
    content = pack(manifest, onnx_model)
    if len(content) > MAX_MODEL_BYTES:
        raise ExportError(
            f"the model bundle has {len(content)} bytes, more than the {MAX_MODEL_BYTES} a device takes"
        )
    return content
