"""Figures as plain SVG (no plotting library): grouped bars with error bars per experiment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zsl_core import splits
from zsl_core.reproduce.design import KEY_SETUP, METHODS

_COLOURS = {
    "side": "#1f77b4",
    "random": "#aaaaaa",
    "shuffled": "#666666",
    "conse": "#ff7f0e",
    "classifier": "#2ca02c",
}


def svg_bar_chart(
    groups: Sequence[str],
    series: Mapping[str, Sequence[tuple[float | None, float | None]]],
    title: str,
    ylabel: str,
    ymin: float = 0.0,
    ymax: float = 1.0,
) -> str:
    """A grouped bar chart with error bars as a standalone SVG string (no plotting library)."""
    width, height, left, bottom, top = 640, 360, 60, 60, 40
    plot_w, plot_h = width - left - 20, height - top - bottom
    n_series = max(len(series), 1)
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / n_series

    def y(v: float) -> float:
        v = min(max(v, ymin), ymax)
        return top + plot_h * (1 - (v - ymin) / (ymax - ymin))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{_esc(title)}</text>',
    ]
    for k in range(6):
        v = ymin + (ymax - ymin) * k / 5
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    parts.append(
        f'<text x="15" y="{top + plot_h / 2}" transform="rotate(-90 15 {top + plot_h / 2})" '
        f'text-anchor="middle">{_esc(ylabel)}</text>'
    )
    for g, group in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        parts.append(
            f'<text x="{left + (g + 0.5) * group_w:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle">{_esc(group)}</text>'
        )
        for s, (name, values) in enumerate(series.items()):
            mean, std = values[g]
            if mean is None:
                continue
            x = x0 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{y(mean):.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{y(ymin) - y(mean):.1f}" fill="{_COLOURS.get(name, "#555")}"/>'
            )
            if std:
                cx = x + bar_w * 0.45
                parts.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(mean - std):.1f}" y2="{y(mean + std):.1f}" '
                    f'stroke="black"/>'
                )
    for s, name in enumerate(series):
        lx = left + s * 130
        parts.append(
            f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{_COLOURS.get(name, "#555")}"/>'
        )
        parts.append(f'<text x="{lx + 16}" y="{height - 12}">{_esc(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_figures(results: Mapping[str, Any], folder: Path) -> list[str]:
    """Per experiment: zero-shot (B+C)-Y annotation MAP-i and retrieval AUC-l per train setup."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for exp, block in results.get("experiments", {}).items():
        agg = block["aggregate"]
        for kind, metric, lo in (
            ("annotation", "MAP-i", 0.0),
            ("annotation", "AUC-i", 0.4),
            ("retrieval", "AUC-l", 0.4),
        ):
            series = {
                m: [
                    (
                        agg[kind][s][KEY_SETUP][m][metric]["mean"],
                        agg[kind][s][KEY_SETUP][m][metric]["std"],
                    )
                    for s in splits.TRAIN_SETUPS
                ]
                for m in METHODS
            }
            svg = svg_bar_chart(
                list(splits.TRAIN_SETUPS),
                series,
                f"{exp}: {kind} {KEY_SETUP} {metric} (mean ± std over seeds)",
                metric,
                lo,
                1.0,
            )
            name = f"{exp}-{kind}-{metric}.svg".replace("@", "at")
            (folder / name).write_text(svg, encoding="utf-8")
            written.append(name)
    return written
