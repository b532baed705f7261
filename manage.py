#!/usr/bin/env python
"""Same as the `fupin` console script."""

from fupin.cli import main

if __name__ == "__main__":
    main()
