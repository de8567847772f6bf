"""Figures (matplotlib) made from measurements and stored runs, and the HTML report."""

from weightlab.report.html import Report, build_report
from weightlab.report.runs import FigureItem, sweep_figures

__all__ = ["FigureItem", "Report", "build_report", "sweep_figures"]
