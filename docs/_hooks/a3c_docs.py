"""MkDocs hook for the a3c site (mkdocs.yml `hooks:`): what a hand-written page would let drift.

- BENCHMARKS.md, SCALING.md and README.md, kept at the repository's root, become pages of the site
  as they are (their links into docs/ made relative to it, links to other repository files shown as
  paths: see _site_link), so guides link to them and strict mode checks those links and anchors;
  figures are stated there, never copied into the guides.
- `<!-- a3c:config-table -->` and `<!-- a3c:model-table -->` become the config reference, rendered
  from the schemas in a3c.config; `<!-- a3c:cli -->` the command-line reference, rendered from the
  Typer app in a3c.cli.
- Every public name (public_api()) must have a docstring and appear in a `::: name` block of some page:
  each miss is a warning, so `mkdocs build --strict` fails. tests/test_docs.py uses the same list.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import File, Files

log = get_plugin_logger("a3c_docs")

ROOT = Path(__file__).resolve().parents[2]

# Repository files shown as pages, under their own names (links to them: `BENCHMARKS.md#anchor`).
ROOT_PAGES = ("BENCHMARKS.md", "SCALING.md", "README.md")

# The public API beyond a3c.__all__ (which is taken from a3c itself): dotted paths of the defining modules.
EXTRA_PUBLIC_API = (
    "a3c.agents.AGENTS",
    "a3c.agents.base.Agent",
    "a3c.models.ActorCritic",
    "a3c.agents.a2c.DEFAULT_CONFIG",
    "a3c.agents.ppo.DEFAULT_CONFIG",
    "a3c.evaluation.SavedPolicy",
    "a3c.evaluation.EvaluationResult",
    "a3c.comparison.Comparison",
    "a3c.comparison.RunRecord",
    "a3c.config.AgentConfig",
    "a3c.config.Option",
    "a3c.config.resolve_config",
    "a3c.config.default_config",
    "a3c.tune.trainable",
    "a3c.checkpoint.CheckpointError",
    "a3c.errors.TrainingError",
    "a3c.errors.WorkerFailureError",
    "a3c.errors.ClusterConnectionError",
    "a3c.catalog.ModelPlan",
    "a3c.catalog.plan_model",
    "a3c.catalog.default_lr",
)


def public_api() -> list[str]:
    """Dotted paths (at their defining modules) of every public name: a3c.__all__, then EXTRA_PUBLIC_API."""
    import a3c

    exports: dict[str, str] = a3c._EXPORTS  # noqa: SLF001 - a3c.__all__'s lazy import table
    return [f"{exports[name]}.{name}" for name in a3c.__all__] + list(EXTRA_PUBLIC_API)


def undocumented(paths: list[str] | None = None, package: Any = None) -> list[str]:
    """The public names (dotted paths; default: public_api()), and the public methods and properties
    of public classes (inherited ones included), that have no docstring. `package`: a griffe package
    to look in instead of a3c (the tests' own)."""
    import griffe

    if package is None:
        package = griffe.load("a3c", search_paths=[str(ROOT)], resolve_aliases=True, resolve_external=False)
    missing = []
    for path in public_api() if paths is None else paths:
        obj = package[path.partition(".")[2]]
        if not obj.docstring or not obj.docstring.value.strip():
            missing.append(path)
        if obj.kind is not griffe.Kind.CLASS:
            continue
        for name, member in obj.all_members.items():
            if name.startswith("_") or member.kind is not griffe.Kind.FUNCTION:
                continue  # attributes are described in their class's docstring
            if not member.docstring or not member.docstring.value.strip():
                missing.append(f"{path}.{name}")
    return missing


# -- repository files as pages ----------------------------------------------------------------------


_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s#]+)(#[^)\s]*)?\)")


def _site_link(match: re.Match[str]) -> str:
    """A repository-relative link of a root file, as the site can hold it: into docs/ it becomes
    relative to docs/; to a file of the repository that is no page (benchmarks/results/suite.md) it
    becomes the text and the path, since the site has no copy to link to; anything else is kept, so
    that strict mode reports it as broken."""
    bang, text, target, anchor = match.group(1), match.group(2), match.group(3), match.group(4) or ""
    if re.match(r"^[a-z]+:", target) or target in ROOT_PAGES:
        return match.group(0)
    if target.startswith("docs/"):
        return f"{bang}[{text}]({target.removeprefix('docs/')}{anchor})"
    if (ROOT / target).exists():
        return f"{text} (`{target}`)" if text and text != target else f"`{target}`"
    return match.group(0)


def on_files(files: Files, config: Any) -> Files:
    for name in ROOT_PAGES:
        text = _LINK.sub(_site_link, (ROOT / name).read_text(encoding="utf-8"))
        page = File.generated(config, name, content=text)
        if name == "README.md":  # MkDocs would make README.md the home page, in place of docs/index.md
            page.dest_uri = "README/index.html" if config["use_directory_urls"] else "README.html"
            page.url = "README/" if config["use_directory_urls"] else "README.html"
        files.append(page)
    return files


# -- generated references ---------------------------------------------------------------------------


def _value(value: Any) -> str:
    return f"`{value!r}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _text(text: str) -> str:
    """Plain text for a table cell: `<agent>` in a help text is no HTML tag, `_<env>_` no emphasis."""
    return html.escape(text, quote=False).replace("_", "\\_").replace("*", "\\*")


def _differences(texts: dict[str, str], first: str) -> str:
    """ " (PPO: ...)" for each agent whose text says more than a rewording of the first one."""
    return "".join(f" ({agent}: {text})" for agent, text in texts.items() if text not in first and first not in text)


def config_table() -> str:
    """Every agent config key: the default for each agent, what is allowed, what it means (from
    the schemas, so the table cannot drift from the validation)."""
    from a3c.config import A2C_SCHEMA, A3C_SCHEMA, PPO_SCHEMA

    schemas = {"A3C": A3C_SCHEMA, "A2C": A2C_SCHEMA, "PPO": PPO_SCHEMA}
    keys = list(dict.fromkeys(key for schema in schemas.values() for key in schema))
    lines = ["| key | A3C | A2C | PPO | allowed | meaning |", "|---|---|---|---|---|---|"]
    for key in keys:
        options = {agent: schema.get(key) for agent, schema in schemas.items()}
        defaults = [
            "–" if option is None else ("see below" if key == "model" else _value(option.default))
            for option in options.values()
        ]
        first = next(option for option in options.values() if option is not None)
        present = {agent: option for agent, option in options.items() if option is not None}
        meaning = first.help + _differences({agent: o.help for agent, o in present.items()}, first.help)
        allowed = first.allowed + _differences({agent: o.allowed for agent, o in present.items()}, first.allowed)
        row = [f"`{key}`", *defaults, _text(allowed), _text(meaning)]
        lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    return "\n".join(lines)


def model_table() -> str:
    """The keys of `config["model"]` (the same for every agent)."""
    from a3c.config import MODEL_SCHEMA

    lines = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for key, option in MODEL_SCHEMA.items():
        row = [f"`{key}`", _value(option.default), _text(option.allowed), _text(option.help)]
        lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    return "\n".join(lines)


def cli_reference() -> str:
    """Each `a3c` command: its usage, summary and every argument and option with its default."""
    import click
    import typer.main

    from a3c.cli import app

    group = typer.main.get_command(app)
    root = click.Context(group, info_name="a3c")
    parts = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        context = click.Context(command, info_name=name, parent=root)
        usage = command.get_usage(context).removeprefix("Usage: ")
        parts += [f"## `a3c {name}`", "", _text((command.help or "").strip()), "", f"```\n{usage}\n```", ""]
        parts += ["| argument or option | default | meaning |", "|---|---|---|"]
        for param in command.params:
            names = " / ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
            if param.param_type_name == "argument":
                names = f"`{param.name.upper()}`" + (" (required)" if param.required else "")
            default = "" if param.default is None else f"`{param.default}`"
            help_text = re.sub(r"\\\[", "[", getattr(param, "help", None) or "")
            lines = [names, default, _text(help_text)]
            parts.append("| " + " | ".join(_cell(cell) for cell in lines) + " |")
        parts.append("")
    return "\n".join(parts)


GENERATED = {
    "<!-- a3c:config-table -->": config_table,
    "<!-- a3c:model-table -->": model_table,
    "<!-- a3c:cli -->": cli_reference,
}

_RENDERED: set[str] = set()  # identifiers of the `::: name` blocks seen in this build


def on_pre_build(config: Any) -> None:
    _RENDERED.clear()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    for marker, render in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    _RENDERED.update(re.findall(r"^:::\s+(\S+)", markdown, flags=re.MULTILINE))
    return markdown


def on_post_build(config: Any) -> None:
    """Every public name documented, and shown in the API reference: else a warning (strict: a failure)."""
    for path in undocumented():
        log.warning("public name without a docstring: %s", path)
    for path in public_api():
        if path not in _RENDERED:
            log.warning("public name missing from the API reference (no '::: %s' block): %s", path, path)
