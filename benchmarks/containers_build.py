"""Image build time: cold (rebuilt from the cached base rootfs, or from debootstrap with --from-scratch) and
warm (inputs unchanged: only the tag lookup). Prints figures, asserts nothing.

    .venv/bin/python benchmarks/containers_build.py [--image reference] [--from-scratch]

Needs a running engine (bash scripts/docker-engine.sh start) and the host installs
(bash scripts/setup-node.sh).
"""

from __future__ import annotations

import argparse
import sys
import time

from atcheck.containers import builder, engine
from atcheck.containers.recipes import RECIPES
from atcheck.errors import AtcheckError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="image build time, cold and warm")
    parser.add_argument("--image", default="reference", choices=sorted(RECIPES))
    parser.add_argument("--from-scratch", action="store_true", help="also debootstrap the base again (~40 s)")
    parser.add_argument("--warm-repeat", type=int, default=5)
    args = parser.parse_args(argv)
    problem = engine.engine_problem()
    if problem:
        print(f"cannot benchmark: {problem}", file=sys.stderr)
        return 2
    recipe = RECIPES[args.image]
    try:
        if args.from_scratch:
            began = time.perf_counter()
            base = builder.build_base(force=True)
            print(f"base (debootstrap + import)     {time.perf_counter() - began:7.2f} s  {base.tag}")
        began = time.perf_counter()
        cold = builder.build_image(recipe, force=True)
        print(f"{recipe.name} cold (payload + build) {time.perf_counter() - began:7.2f} s  {cold.tag}")
        warm: list[float] = []
        for _ in range(max(1, args.warm_repeat)):
            began = time.perf_counter()
            result = builder.build_image(recipe)
            warm.append(time.perf_counter() - began)
            assert not result.built
        print(f"{recipe.name} warm (up to date)  {min(warm):7.3f} s best, {max(warm):.3f} s worst")
    except AtcheckError as exc:
        print(f"cannot benchmark: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
