"""INT8 post-training quantization: calibrators for ``"calibrator"`` in ``trtorch.compile``'s settings
(docs/int8.md).

    calib = trtorch.ptq.DataLoaderCalibrator(
        loader,                                # batches of inputs (a tensor, or (inputs, labels) pairs)
        cache_file="calibration.cache",        # written after calibrating
        use_cache=False,                       # True: read the cache when it exists, skip the data
        algo_type=trtorch.ptq.CalibrationAlgo.ENTROPY_CALIBRATION_2,
        device=torch.device("cuda:0"))         # where the batches are moved (default: the engine's)
    trt = trtorch.compile(ts, {"inputs": [trtorch.Input((32, 3, 224, 224))],
                               "enabled_precisions": {torch.int8, torch.half}, "calibrator": calib})
    # later builds of the same model (any machine): no data needed
    calib = trtorch.ptq.CacheCalibrator("calibration.cache")

Calibration runs the batches through an FP32 engine of the model and records, for every tensor
that a convolution or linear layer reads, the distribution of its magnitudes; the algorithm turns
each into the clipping threshold of its INT8 scale (threshold / 127): ENTROPY (TensorRT's
entropy calibration: the threshold whose 128-level quantization loses least information, by KL
divergence), MINMAX (the largest magnitude) or PERCENTILE (the 99.99th percentile by default).
"""

import enum
import os

import torch

from trtorch import _C


class CalibrationAlgo(enum.Enum):
    """Calibration algorithms, with TensorRT's names (both entropy variants are the same here)."""
    ENTROPY_CALIBRATION = "entropy"
    ENTROPY_CALIBRATION_2 = "entropy"
    MINMAX_CALIBRATION = "minmax"
    PERCENTILE_CALIBRATION = "percentile"


_ALGOS = {"entropy": _C.CalibrationAlgo.kEntropy, "minmax": _C.CalibrationAlgo.kMinMax,
          "percentile": _C.CalibrationAlgo.kPercentile}


def _algo(value):
    if isinstance(value, CalibrationAlgo):
        return value.value
    if isinstance(value, str) and value.lower() in _ALGOS:
        return value.lower()
    raise ValueError("algo_type: expected a trtorch.ptq.CalibrationAlgo or one of 'entropy', 'minmax', "
                     "'percentile', got %r" % (value,))


def _cache_path(value):
    if value is None:
        return ""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError("cache_file: expected a path (str or os.PathLike), got %s" % type(value).__name__)
    return os.fspath(value)


class _Calibrator:
    """What the compile settings read: the algorithm, the cache and the batches."""

    def __init__(self, cache_file, use_cache, algo_type, percentile):
        self.cache_file = _cache_path(cache_file)
        if not isinstance(use_cache, bool):
            raise TypeError("use_cache: expected True or False, got %r" % (use_cache,))
        self.use_cache = use_cache
        self.algo = _algo(algo_type)
        if isinstance(percentile, bool) or not isinstance(percentile, (int, float)) or not 0 < percentile <= 100:
            raise ValueError("percentile: expected a number in (0, 100], got %r" % (percentile,))
        self.percentile = float(percentile)

    def _batches(self, n_inputs):
        return []

    def _to_c(self, n_inputs):
        c = _C.Calibrator()
        c.algo = _ALGOS[self.algo]
        c.percentile = self.percentile
        c.cache_file = self.cache_file
        c.use_cache = self.use_cache
        if not (self.use_cache and self.cache_file and os.path.exists(self.cache_file)):
            c.batches = self._batches(n_inputs)
        return c


class DataLoaderCalibrator(_Calibrator):
    """Calibrates on every batch of ``dataloader`` (any iterable: a torch DataLoader, a list).
    A batch is the method's input tensor, or a tuple / list whose first ``n`` elements are the
    method's ``n`` inputs (so ``(images, labels)`` pairs work for a one-input model).

    ``cache_file``: where the scales are written after calibrating (None: nowhere).
    ``use_cache``: read ``cache_file`` instead when it exists (the data loader is not read).
    ``algo_type``: a ``CalibrationAlgo``. ``device``: accepted for TRTorch's signature; the
    batches go to the engine's device. ``percentile``: PERCENTILE_CALIBRATION's percentile.
    """

    def __init__(self, dataloader, cache_file=None, use_cache=False,
                 algo_type=CalibrationAlgo.ENTROPY_CALIBRATION_2, device=None, percentile=99.99):
        super().__init__(cache_file, use_cache, algo_type, percentile)
        if not hasattr(dataloader, "__iter__"):  # not iterated here: a cached calibration never reads it
            raise TypeError("dataloader: expected an iterable of batches (a torch.utils.data.DataLoader, a list), "
                            "got %s" % type(dataloader).__name__)
        self.dataloader = dataloader
        self.device = device

    def _batches(self, n_inputs):
        out = []
        for i, batch in enumerate(self.dataloader):
            if isinstance(batch, torch.Tensor):
                batch = [batch]
            if not isinstance(batch, (list, tuple)) or len(batch) < n_inputs or not all(
                    isinstance(t, torch.Tensor) for t in batch[:n_inputs]):
                raise TypeError("calibration batch %d: expected a tensor or a tuple/list starting with the method's "
                                "%d input tensor(s), got %s" % (i, n_inputs, type(batch).__name__))
            out.append([t.detach().cpu() for t in batch[:n_inputs]])
        if not out:
            raise ValueError("the calibrator's data loader gave no batches")
        return out


class CacheCalibrator(_Calibrator):
    """Reads the scales from a calibration cache written by an earlier build (no data). The cache
    must exist and have been made for the same model and input shapes, else the compile fails
    saying so."""

    def __init__(self, cache_file, algo_type=CalibrationAlgo.ENTROPY_CALIBRATION_2, device=None):
        if not _cache_path(cache_file):
            raise ValueError("cache_file: a CacheCalibrator needs the path of a calibration cache")
        super().__init__(cache_file, True, algo_type, 99.99)
        if not os.path.exists(self.cache_file):
            raise FileNotFoundError("calibration cache %r does not exist" % self.cache_file)


__all__ = ["CalibrationAlgo", "DataLoaderCalibrator", "CacheCalibrator"]
