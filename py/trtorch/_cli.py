"""The `trtorchc` console command of a pip-installed trtorch: runs the trtorchc binary installed
in the package (trtorch/bin/trtorchc) with the same arguments. In the build tree the binary is
build/bin/trtorchc."""
import os
import sys


def main():
    exe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "trtorchc")
    if not os.access(exe, os.X_OK):
        sys.stderr.write("trtorchc: the binary is missing at %s (in a build tree, run build/bin/trtorchc)\n" % exe)
        return 2
    os.execv(exe, [exe] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
