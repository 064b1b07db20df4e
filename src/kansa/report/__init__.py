"""Interface-level reports that span capabilities (the demo run and its HTML summary).

This package sits beside the CLI and web layers: it may call every capability's public API,
and no capability may import it.
"""

from kansa.report.demo_run import DemoStep, run_demo, story
from kansa.report.summary import write_summary

__all__ = ["DemoStep", "run_demo", "story", "write_summary"]
