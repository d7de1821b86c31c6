"""Log-level control for trtorch's C++ logger (messages go to stderr, prefixed ``[trtorch ...]``).

The initial level comes from the environment variable ``TRTORCH_LOG_LEVEL`` (0 error ... 3 debug;
default warning)."""

import enum

from trtorch import _C


class Level(enum.IntEnum):
    """The reportable log levels, most severe first (a level shows itself and everything above)."""
    Error = 0
    Warning = 1
    Info = 2
    Debug = 3


def set_reportable_log_level(level):
    """Sets the least severe level that is printed. Takes a ``trtorch.logging.Level`` or its int."""
    if isinstance(level, bool) or not isinstance(level, int) or int(level) not in Level._value2member_map_:
        raise TypeError("trtorch.logging.set_reportable_log_level: expected a trtorch.logging.Level "
                        "(Error, Warning, Info, Debug) or 0..3, got %r" % (level,))
    _C.set_reportable_log_level(int(level))


def get_reportable_log_level():
    """The current reportable log level as a ``trtorch.logging.Level``."""
    return Level(_C.get_reportable_log_level())
