"""Midflight: a BPMN process engine built to change processes while they run."""

__version__ = "0.1.0"
