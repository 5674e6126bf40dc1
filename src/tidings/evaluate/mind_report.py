"""The MIND replay's report: each method's scores and how they were obtained
(:class:`MindReport`), and its outputs: JSON, a bar chart (PNG), a plain-text table and a
:mod:`rich` table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tidings.evaluate.mind_metrics import METRICS

__all__ = [
    "MethodScores",
    "MindReport",
    "format_table",
    "rich_table",
    "write_chart",
    "write_report",
]

METRIC_LABELS = {"auc": "AUC", "mrr": "MRR", "ndcg5": "nDCG@5", "ndcg10": "nDCG@10"}


# --- The report --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MethodScores:
    """One method's metrics, averaged over the impressions it scored."""

    auc: float
    mrr: float
    ndcg5: float
    ndcg10: float
    impressions: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "auc": round(self.auc, 4),
            "mrr": round(self.mrr, 4),
            "ndcg5": round(self.ndcg5, 4),
            "ndcg10": round(self.ndcg10, 4),
            "impressions": self.impressions,
        }

    def metric(self, name: str) -> float:
        return float(getattr(self, name))


@dataclass(slots=True)
class MindReport:
    """Every method's metrics on the same scored impressions, and how they were obtained."""

    methods: dict[str, MethodScores]
    split: str  # "train-dir", "time" or "hash"
    test_dir: str
    train_dir: str | None
    seed: int
    kind: str
    counts: dict[str, int]
    standard_errors: dict[str, dict[str, float]]
    versus: dict[str, dict[str, float]]  # baseline → paired AUC gain of tidings and its SE
    importance: dict[str, float]  # mean |contribution| of each feature over scored rows
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "methods": {name: scores.to_dict() for name, scores in self.methods.items()},
            "split": self.split,
            "test_dir": self.test_dir,
            "train_dir": self.train_dir,
            "seed": self.seed,
            "kind": self.kind,
            "counts": dict(self.counts),
            "standard_errors": {
                m: {k: round(v, 4) for k, v in errors.items()}
                for m, errors in self.standard_errors.items()
            },
            "versus": {
                m: {k: round(v, 4) for k, v in diff.items()} for m, diff in self.versus.items()
            },
            "feature_importance": {k: round(v, 4) for k, v in self.importance.items()},
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A few lines for humans: the table, then the notes."""
        return "\n".join([format_table(self), *self.notes])


# --- Output ------------------------------------------------------------------------------------


def write_report(report: MindReport, json_path: Path | str) -> Path:
    """The report as JSON (``methods`` keyed by method, then how it was measured)."""
    path = Path(json_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def write_chart(report: MindReport, png_path: Path | str) -> Path:
    """A grouped bar chart: AUC, MRR, nDCG@5 and nDCG@10 for each method."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    path = Path(png_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(report.methods)
    figure = Figure(figsize=(9, 4.8), dpi=120)
    axes = figure.add_subplot()
    width = 0.8 / len(METRICS)
    x = np.arange(len(names))
    for j, metric in enumerate(METRICS):
        values = [report.methods[name].metric(metric) for name in names]
        bars = axes.bar(
            x + (j - (len(METRICS) - 1) / 2) * width, values, width, label=METRIC_LABELS[metric]
        )
        axes.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    axes.set_xticks(x, names)
    axes.set_ylim(0, 1)
    axes.set_ylabel("mean over impressions")
    scored = next(iter(report.methods.values())).impressions if names else 0
    axes.set_title(f"MIND replay: {scored} impressions ({report.split} split, seed {report.seed})")
    axes.legend(loc="upper right", ncols=len(METRICS), fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    return path


def format_table(report: MindReport) -> str:
    """The metrics as a plain-text table, one method a row."""
    header = f"{'method':<12}" + "".join(f"{METRIC_LABELS[m]:>9}" for m in METRICS)
    header += f"{'impr.':>8}"
    lines = [header, "-" * len(header)]
    for name, scores in report.methods.items():
        cells = "".join(f"{scores.metric(m):>9.4f}" for m in METRICS)
        lines.append(f"{name:<12}{cells}{scores.impressions:>8}")
    return "\n".join(lines)


def rich_table(report: MindReport) -> Any:
    """The metrics as a :class:`rich.table.Table`, for the terminal."""
    from rich.table import Table

    table = Table(title=f"MIND replay ({report.split} split, seed {report.seed})")
    table.add_column("method")
    for metric in METRICS:
        table.add_column(METRIC_LABELS[metric], justify="right")
    table.add_column("impressions", justify="right")
    for name, scores in report.methods.items():
        style = "bold" if name == "tidings" else None
        table.add_row(
            name,
            *(f"{scores.metric(m):.4f}" for m in METRICS),
            str(scores.impressions),
            style=style,
        )
    return table
