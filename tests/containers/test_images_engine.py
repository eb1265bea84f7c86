"""Each built image runs its program: a smoke command per recipe, inside the image, with no network.

Skipped per image when its host installs are missing or the image for the current inputs is not built.
"""

from __future__ import annotations

import pytest

from atcheck.containers import builder, cleanup, engine
from atcheck.containers.recipes import RECIPES
from atcheck.errors import SetupError
from atcheck.targets.templating import TemplateScope
from atcheck.tools import resolve_tool


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_image_runs_its_program_offline(name: str, docker_engine: None) -> None:
    recipe = RECIPES[name]
    try:
        tag = builder.image_tag(recipe)
    except SetupError as exc:
        pytest.skip(f"{name}: host installs missing: {exc}")
    if not builder.image_exists(tag):
        pytest.skip(f"{tag} is not built (run `atcheck containers build {name}`)")
    scope = TemplateScope(tool_resolver=resolve_tool)
    command = [scope.render(part, f"{name}.smoke") for part in recipe.smoke]
    client = engine.client()
    try:
        output = client.containers.run(
            tag,
            command,
            remove=True,
            network_mode="none",
            labels=cleanup.ownership_labels({cleanup.LABEL_RUN: f"smoke-{name}"}),
            stderr=True,
        )
    finally:
        client.close()
    assert b"smoke ok" in output


def test_image_tags_name_the_pinned_versions() -> None:
    try:
        reference = builder.image_tag(RECIPES["reference"])
    except SetupError as exc:
        pytest.skip(f"reference installs missing: {exc}")
    assert reference.startswith("atcheck/reference:pds-0.5.35-plc-0.0.1-")
    assert builder.base_tag().startswith("atcheck/base:bookworm-minbase-")
