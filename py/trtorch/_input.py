"""TRTorch v0.4 / Torch-TensorRT's spelling of inputs and devices: ``trtorch.Input`` and
``trtorch.Device``, for the ``"inputs"`` and ``"device"`` settings (see ``trtorch._compile_spec``).

    trtorch.compile(ts, inputs=[trtorch.Input((1, 3, 224, 224), dtype=torch.half)],
                    enabled_precisions={torch.half}, device=trtorch.Device("cuda:0"))
    trtorch.Input(min_shape=(1, 3, 224, 224), opt_shape=(8, 3, 224, 224), max_shape=(32, 3, 224, 224))
"""

import torch

# The dtypes an engine input can have. A floating input of the engine precision is what the seed's
# dictionary gives by default; torch.float keeps an input FP32 in an FP16/BF16 engine (cast inside).
INPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.int32, torch.int64, torch.bool)
FORMATS = (torch.contiguous_format, torch.channels_last)


def _shape_tuple(value, where):
    if isinstance(value, torch.Size):
        value = tuple(value)
    if not isinstance(value, (list, tuple)):
        raise TypeError("%s: expected a shape (a tuple or list of positive ints), got %s %r"
                        % (where, type(value).__name__, value))
    return tuple(value)  # the dimensions are checked with the rest of the settings


class Input:
    """One input of the compiled method: a fixed ``shape``, or ``min_shape`` / ``opt_shape`` /
    ``max_shape`` for a range (dynamic shapes); its ``dtype`` (``None``: from the method's declared
    type, floating inputs in the engine precision); its memory ``format`` (``torch.contiguous_format``
    or ``torch.channels_last``; the engine reads either: a channels-last tensor is made contiguous
    on the way in)."""

    def __init__(self, shape=None, *, min_shape=None, opt_shape=None, max_shape=None, dtype=None,
                 format=torch.contiguous_format):  # noqa: A002  (Torch-TensorRT's keyword)
        ranged = [s is not None for s in (min_shape, opt_shape, max_shape)]
        if shape is not None and any(ranged):
            raise ValueError("trtorch.Input: give either shape or min_shape/opt_shape/max_shape, not both")
        if shape is None and not all(ranged):
            missing = [n for n, r in zip(("min_shape", "opt_shape", "max_shape"), ranged) if not r]
            raise ValueError("trtorch.Input: needs shape, or all of min_shape, opt_shape and max_shape "
                             "(missing %s)" % ", ".join(missing))
        if shape is not None:
            self.shape = _shape_tuple(shape, "trtorch.Input shape")
            self.min_shape = self.opt_shape = self.max_shape = self.shape
        else:
            self.shape = None
            self.min_shape = _shape_tuple(min_shape, "trtorch.Input min_shape")
            self.opt_shape = _shape_tuple(opt_shape, "trtorch.Input opt_shape")
            self.max_shape = _shape_tuple(max_shape, "trtorch.Input max_shape")
        if dtype is not None and (not isinstance(dtype, torch.dtype) or dtype not in INPUT_DTYPES):
            raise TypeError("trtorch.Input: dtype must be None or one of %s, got %r"
                            % (", ".join(str(t) for t in INPUT_DTYPES), dtype))
        if format not in FORMATS:
            raise ValueError("trtorch.Input: format must be torch.contiguous_format or torch.channels_last, "
                             "got %r" % (format,))
        if format == torch.channels_last and len(self.opt_shape) != 4:
            raise ValueError("trtorch.Input: format torch.channels_last needs a 4-D shape, got %r"
                             % (self.opt_shape,))
        self.dtype = dtype
        self.format = format

    @classmethod
    def from_tensor(cls, t):
        """An Input of a tensor's shape, dtype and memory format (an example input)."""
        fmt = torch.channels_last if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last) \
            and not t.is_contiguous() else torch.contiguous_format
        return cls(tuple(t.shape), dtype=t.dtype if t.dtype in INPUT_DTYPES else None, format=fmt)

    def is_dynamic(self):
        return self.shape is None and not (self.min_shape == self.opt_shape == self.max_shape)

    def shape_setting(self):
        """This input in the seed's ``input_shapes`` form."""
        if self.shape is not None:
            return list(self.shape)
        return {"min": list(self.min_shape), "opt": list(self.opt_shape), "max": list(self.max_shape)}

    def __repr__(self):
        if self.shape is not None:
            s = "shape=%s" % (self.shape,)
        else:
            s = "min_shape=%s, opt_shape=%s, max_shape=%s" % (self.min_shape, self.opt_shape, self.max_shape)
        return "trtorch.Input(%s, dtype=%s, format=%s)" % (s, self.dtype, self.format)


class Device:
    """Where the engine runs, as Torch-TensorRT spells it: ``trtorch.Device("cuda:0")``,
    ``trtorch.Device(gpu_id=1)``, ``trtorch.Device(device_type=trtorch.DeviceType.GPU, gpu_id=0)``,
    ``trtorch.Device("reference")``. DLA cores do not exist on the GPUs trtorch builds for:
    ``dla_core`` must be left unset (or -1); ``allow_gpu_fallback`` is accepted and has no effect."""

    def __init__(self, spec=None, *, device_type=None, gpu_id=None, dla_core=None, allow_gpu_fallback=False):
        from trtorch._compile_spec import DeviceType, _device
        if dla_core not in (None, -1):
            raise ValueError("trtorch.Device: dla_core=%r: trtorch builds for GPUs, which have no DLA cores" % (dla_core,))
        if not isinstance(allow_gpu_fallback, bool):
            raise TypeError("trtorch.Device: allow_gpu_fallback must be a bool, got %r" % (allow_gpu_fallback,))
        if spec is not None and (device_type is not None or gpu_id is not None):
            raise ValueError("trtorch.Device: give a device string or device_type/gpu_id, not both")
        if spec is not None:
            self.device_type, self.gpu_id = _device(spec)
        else:
            kind = DeviceType.GPU if device_type is None else device_type
            self.device_type, self.gpu_id = _device({"device_type": kind, "gpu_id": 0 if gpu_id is None else gpu_id})
        self.dla_core = -1
        self.allow_gpu_fallback = allow_gpu_fallback

    def setting(self):
        """This device in the seed's ``device`` form."""
        return {"device_type": self.device_type, "gpu_id": self.gpu_id}

    def __repr__(self):
        return "trtorch.Device(device_type=%s, gpu_id=%d)" % (self.device_type, self.gpu_id)
