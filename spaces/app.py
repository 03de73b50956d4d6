"""Run the demo Space from an hfswim checkout: ``python spaces/app.py [--index DIR] [--model M] [--port N]``.

The app itself is hfswim/space/app.py. To deploy it, build a self-contained Space folder and push it::

    hfswim space build runs/space --index my-index
    hfswim space push me/hfswim-search runs/space
"""

from __future__ import annotations

import argparse

from hfswim.space.app import launch
from hfswim.space.local import local_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", help="index folder from `hfswim index` (default: the demo corpus, indexed now)")
    parser.add_argument("--model", help="query encoder (default: the one recorded in the index)")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    launch(local_app(index=args.index, model=args.model), server_name="127.0.0.1", server_port=args.port)


if __name__ == "__main__":
    main()
