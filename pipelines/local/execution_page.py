"""One self-contained HTML page per local execution, beside its record
(`executions/<id>.html`): what Studio's execution view shows, readable with no network.

First the end-of-run summary (the gates' figures, the registered version, the commands that
approve and deploy it); then the step graph as inline SVG (columns by dependency depth, each
node coloured by its status, with duration and cache hit); each step's key outputs and links
to its logs and outputs; the evaluation plots (PNG embedded, HTML linked); the parameters.
Links are relative to the page, so a copied local root keeps working.
"""
from __future__ import annotations

import base64
import graphlib
import html
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.local.definition import PipelineGraph
from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.execution_digest import ExecutionDigest, StepFiles
from pipelines.local.executions import record_path
from pipelines.local.mermaid import STATUS_COLOURS
from pipelines.local.report import summary_text
from steps.common.atomic import write_text_atomic

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 210, 58, 70, 24, 16
# An execution's own status beyond its steps': a failure handler ran after a failed step.
EXECUTION_COLOURS = {"CompletedWithFailures": ("#ffe5cc", "#c05600")}
NAME_CHARS = 26  # longer names are cut in the drawing; the node's tooltip has the whole name


def page_path(local_root: str | os.PathLike[str], execution_id: str) -> Path:
    return record_path(Path(local_root), execution_id).with_suffix(".html")


def write_execution_page(execution: LocalExecution, graph: PipelineGraph,
                         parameters: Mapping[str, Any], digest: ExecutionDigest) -> Path:
    """Write (atomically, replacing an earlier one) and return the execution's page."""
    path = page_path(execution.local_root, execution.execution_id)
    write_text_atomic(path, render_page(execution, graph, parameters, digest, path))
    return path


def render_page(execution: LocalExecution, graph: PipelineGraph, parameters: Mapping[str, Any],
                digest: ExecutionDigest, path: Path) -> str:
    title = f"{execution.pipeline_name} {execution.execution_id}: {execution.status}"
    body = [f"<h1>{_e(execution.pipeline_name)} <code>{_e(execution.execution_id)}</code> "
            f'<span class="badge {_e(execution.status)}" id="execution-status">'
            f"{_e(execution.status)}</span></h1>",
            f"<p>started {_e(execution.start_time or '-')}, ended "
            f"{_e(execution.end_time or '-')}</p>",
            _outcome_section(execution, digest, path),
            f'<section id="graph"><h2>Graph</h2>{_svg(graph, execution.steps)}</section>',
            _steps_section(execution, digest, path.parent),
            _plots_section(digest, path.parent),
            _parameters_section(parameters)]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_css()}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def _svg(graph: PipelineGraph, records: Mapping[str, StepRecord]) -> str:
    """Steps in columns by dependency depth (definition order within a column)."""
    depth: dict[str, int] = {}
    order = graphlib.TopologicalSorter({n: s.depends_on for n, s in graph.steps.items()})
    for name in order.static_order():
        depth[name] = 1 + max((depth[d] for d in graph.steps[name].depends_on), default=-1)
    rows: dict[int, int] = {}
    at: dict[str, tuple[int, int]] = {}
    for name in graph.steps:
        column = depth[name]
        at[name] = (MARGIN + column * (NODE_W + GAP_X),
                    MARGIN + rows.get(column, 0) * (NODE_H + GAP_Y))
        rows[column] = rows.get(column, 0) + 1
    width = MARGIN * 2 + (max(depth.values()) + 1) * (NODE_W + GAP_X) - GAP_X
    height = MARGIN * 2 + max(rows.values()) * (NODE_H + GAP_Y) - GAP_Y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">'
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
             "</marker></defs>"]
    for name, step in graph.steps.items():
        for dependency in step.depends_on:
            (x1, y1), (x2, y2) = at[dependency], at[name]
            x1, y1, y2 = x1 + NODE_W, y1 + NODE_H / 2, y2 + NODE_H / 2
            middle = (x1 + x2) / 2
            parts.append(f'<path class="edge" d="M{x1},{y1} C{middle},{y1} {middle},{y2} '
                         f'{x2},{y2}" fill="none" stroke="#555" marker-end="url(#arrow)"/>')
            if step.branch_of and step.branch_of[0] == dependency:
                label = "if true" if step.branch_of[1] == "IfSteps" else "else"
                parts.append(f'<text class="edge-label" x="{middle}" y="{(y1 + y2) / 2 - 4}" '
                             f'text-anchor="middle">{label}</text>')
    for name, step in graph.steps.items():
        record = records[name]
        x, y = at[name]
        fill, stroke = STATUS_COLOURS.get(record.status, ("#ffffff", "#333333"))
        shown = name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"
        parts.append(
            f'<g class="node" data-step="{_e(name)}" data-status="{_e(record.status)}">'
            f"<title>{_e(name)} ({_e(step.type)}): {_e(record.status)}</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
            f'<text x="{x + 10}" y="{y + 22}" class="node-name">{_e(shown)}</text>'
            f'<text x="{x + 10}" y="{y + 42}" class="node-detail">{_e(step.type)} · '
            f'<tspan class="node-status">{_e(record.status)}</tspan>{_e(_timing(record))}'
            "</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def _timing(record: StepRecord) -> str:
    text = f" · {record.duration_s:.1f}s" if record.duration_s is not None else ""
    return text + (" · cached" if record.cached else "")


def _steps_section(execution: LocalExecution, digest: ExecutionDigest, here: Path) -> str:
    rows = []
    for name, record in execution.steps.items():
        files = digest.files.get(name, StepFiles())
        links = [_link(log, here, f"log{'' if len(files.logs) == 1 else ' ' + log.parent.name}")
                 for log in files.logs]
        links += [_link(local, here, output) for output, _, local in files.outputs]
        detail = record.failure_reason or record.summary
        rows.append(
            f'<tr class="step" data-step="{_e(name)}" data-status="{_e(record.status)}">'
            f"<td>{_e(name)}</td><td>{_e(record.type)}</td>"
            f'<td><span class="badge {_e(record.status)}">{_e(record.status)}</span></td>'
            f"<td>{_e(_timing(record).removeprefix(' · '))}</td>"
            f'<td class="detail">{_e(detail)}</td><td>{" ".join(links)}</td></tr>')
    return ('<section id="steps"><h2>Steps</h2><table><tr><th>Step</th><th>Type</th>'
            "<th>Status</th><th>Time</th><th>Key outputs</th><th>Logs and outputs</th></tr>"
            f"{''.join(rows)}</table></section>")


def _outcome_section(execution: LocalExecution, digest: ExecutionDigest, path: Path) -> str:
    return (f'<section id="outcome"><h2>Outcome</h2><pre>'
            f"{_e(summary_text(execution, digest, path))}</pre></section>")


def _parameters_section(parameters: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_e(name)}</td><td><code>{_e(str(value))}</code></td></tr>"
                   for name, value in parameters.items())
    return (f'<section id="parameters"><h2>Parameters</h2><table><tr><th>Name</th>'
            f"<th>Value</th></tr>{rows}</table></section>")


def _plots_section(digest: ExecutionDigest, here: Path) -> str:
    figures = []
    for step, files in digest.files.items():
        for plot in files.plots:
            caption = f"{step}: {plot.name}"
            if plot.suffix == ".png":
                data = base64.b64encode(plot.read_bytes()).decode()
                figures.append(f'<figure><img alt="{_e(caption)}" '
                               f'src="data:image/png;base64,{data}"><figcaption>'
                               f"{_e(caption)}</figcaption></figure>")
            else:
                figures.append(f"<figure><figcaption>{_link(plot, here, caption)} "
                               "(interactive, opens on its own)</figcaption></figure>")
    if not figures:
        return ""
    return f'<section id="plots"><h2>Plots</h2>{"".join(figures)}</section>'


def _link(target: Path, here: Path, text: str) -> str:
    href = urllib.parse.quote(os.path.relpath(target, here))
    return f'<a href="{href}">{_e(text)}</a>'


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _css() -> str:
    badges = {**STATUS_COLOURS, **EXECUTION_COLOURS}
    colours = "".join(f".badge.{status}{{background:{fill};border-color:{stroke}}}"
                      for status, (fill, stroke) in badges.items())
    return ("body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
            "table{border-collapse:collapse;margin:8px 0}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
            "td.detail{max-width:560px;overflow-wrap:anywhere}"
            ".badge{border:1px solid #999;border-radius:10px;padding:1px 8px;font-size:0.85em}"
            ".node-name{font:600 13px system-ui,sans-serif}"
            ".node-detail{font:11px system-ui,sans-serif;fill:#444}"
            ".edge-label{font:11px system-ui,sans-serif;fill:#555}"
            "pre{background:#f6f6f6;padding:12px;white-space:pre-wrap;overflow-wrap:anywhere}"
            "figure{display:inline-block;margin:8px;vertical-align:top}"
            "img{max-width:560px;border:1px solid #ddd}"
            + colours)
