"""`ucgen serve RUN`: a local browser explorer of a trained run."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="explore a trained run in the browser",
        description="Serve a local page to explore RUN: a gallery of its codes, sliders for "
        "the top fine directions and toggles for the bits (the image follows them), seed, "
        "steps and guidance, and an image of your own dropped in to see its code, the codes "
        "of its nearest training images and variations; beside every generated image, its "
        "nearest real training images. Needs Flask (pip install 'ucgen[serve]').",
    )
    p.add_argument("run", help="run folder, e.g. runs/demo")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free one)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="default sampling steps of the page (default: the run's sample.steps, at most 8, "
        "so that an image follows a slider within a second on a CPU)",
    )
    p.add_argument("--device", default="auto", help="device to sample on (default: auto)")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from ucgen.errors import UcgenError
    from ucgen.io.runs import Run

    if not 0 <= args.port <= 65535:
        raise UcgenError(f"--port must be in [0, 65535], got {args.port}")
    Run.open(args.run)  # a wrong path is refused before torch and Flask load
    try:
        from ucgen.serve.app import serve
    except ModuleNotFoundError as err:
        if err.name not in ("flask", "werkzeug"):
            raise
        raise UcgenError("ucgen serve needs Flask: pip install 'ucgen[serve]'") from None
    from ucgen.app.trained import TrainedModel
    from ucgen.serve.explorer import Explorer

    explorer = Explorer(TrainedModel.load(args.run, device=args.device), steps=args.steps)
    server = serve(explorer, args.host, args.port)
    print(f"explorer of {args.run} at http://{args.host}:{server.port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
